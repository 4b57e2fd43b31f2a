// The one storage account: scan input containers, the result tables and queues, and the Functions
// host's own containers. Shared-key (account key / SAS) access is disabled: identities only.
param location string
param tags object
param name string
param deploymentContainerName string
@description('Event Grid writes events it could not deliver here (never lost; replayable).')
param deadLetterContainerName string
@description('Log Analytics workspace that receives the blob, queue and table services\' read/write/delete logs (audit).')
param logAnalyticsWorkspaceId string
@description('Days scans (and their old versions) are kept before the lifecycle rule deletes them.')
@minValue(1)
param retentionDays int
@description('Disabled: reachable only through the private endpoints in the VNet. Enabled: the firewall below decides.')
@allowed([
  'Disabled'
  'Enabled'
])
param publicNetworkAccess string
@description('With publicNetworkAccess Enabled only: public IP ranges let through the firewall (e.g. a deployer\'s).')
param allowedIpRanges array

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
    // The apps reach storage through private endpoints (network.bicep); every request still needs an
    // Entra ID token. docs/security.md says what needs the firewall option (deploying from outside the VNet).
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: [for range in allowedIpRanges: { value: range, action: 'Allow' }]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: account
  name: 'default'
  properties: {
    // Accidentally deleted or overwritten scans and containers can be restored for a week.
    isVersioningEnabled: true
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

// Scans and their versions are deleted after the retention period. (Table rows have no lifecycle
// management: docs/security.md.)
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2026-09-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-scans-after-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['chest/', 'ct-scans/'] // scanContainers
            }
            actions: {
              baseBlob: { delete: { daysAfterModificationGreaterThan: retentionDays } }
              version: { delete: { daysAfterCreationGreaterThan: retentionDays } }
            }
          }
        }
      ]
    }
  }
}

// Audit: who read, wrote or deleted which scan, result row or message (StorageRead/Write/Delete).
resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: blobService
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

resource queueLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: queueService
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

resource tableLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: tableService
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

output name string = account.name
