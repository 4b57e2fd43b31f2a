// The one storage account: scan input containers, the result tables and queues, and the Functions
// host's own containers. Shared-key (account key / SAS) access is disabled: identities only.
param location string
param tags object
param name string
param deploymentContainerName string
@description('Event Grid writes events it could not deliver here (never lost; replayable).')
param deadLetterContainerName string

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param skuName string = 'Standard_LRS'

// Input containers (fixed names: the functions, the CLI and the Event Grid filters use them).
// Container names need 3-63 characters, so CT scans arrive in 'ct-scans' (the modality is still 'ct').
var scanContainers = ['chest', 'ct-scans']
// The Functions host's containers, created up front so the function's Blob Data Owner role can be
// scoped to them instead of the whole account (see storage-access.bicep).
var hostContainers = ['azure-webjobs-hosts', 'azure-webjobs-secrets', deploymentContainerName]

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
    // Public endpoint (Flex Consumption without VNet integration reaches it over the internet);
    // every request still needs an Entra ID token. See docs/deploy.md for the private option.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: account
  name: 'default'
  properties: {
    // Accidentally deleted scans and containers can be restored for a week.
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = [
  for c in concat(scanContainers, hostContainers, [deadLetterContainerName]): {
    parent: blobService
    name: c
    properties: { publicAccess: 'None' }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-09-01' = {
  parent: account
  name: 'default'
}

// ScanResults: one row per model + one per ensemble, per scan version.
// ScanTimeline: the same results keyed by time, for "recent results" listing.
resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2026-09-01' = [
  for t in ['ScanResults', 'ScanTimeline']: {
    parent: tableService
    name: t
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-09-01' = {
  parent: account
  name: 'default'
}

// scan-results: one message per processed scan. webjobs-blobtrigger-poison: blobs that failed
// 5 times (the blob extension's poison queue; pre-created so it is visible from day one).
resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-09-01' = [
  for q in ['scan-results', 'webjobs-blobtrigger-poison']: {
    parent: queueService
    name: q
  }
]

output name string = account.name
