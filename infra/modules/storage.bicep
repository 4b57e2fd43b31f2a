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
@description('Days scans, their old versions and their heatmaps are kept before the lifecycle rule deletes them (the function app sweeps result rows after as many days).')
@minValue(1)
param retentionDays int
@description('The Functions host id: its blob trigger dispatches through queue azure-webjobs-blobtrigger-{hostId}, created here so a role can be scoped to it.')
param functionsHostId string
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
// Drawn heatmap overlays of scans: patient data like the scans, kept as long.
var heatmapContainer = 'heatmaps'
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
  for c in concat(scanContainers, [heatmapContainer], hostContainers, [deadLetterContainerName]): {
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
// 5 times (the blob extension's poison queue), then its own poison queue and that one's (the queue
// extension's); azure-webjobs-blobtrigger-{hostId}: the blob extension's dispatch queue. All
// created here, so the function app's queue role is scoped to each (storage-access.bicep).
resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-09-01' = [
  for q in [
    'scan-results'
    'webjobs-blobtrigger-poison'
    'webjobs-blobtrigger-poison-poison'
    'webjobs-blobtrigger-poison-poison-poison'
    'azure-webjobs-blobtrigger-${functionsHostId}'
  ]: {
    parent: queueService
    name: q
  }
]

// Scans, their versions and their heatmaps are deleted after the retention period. Table rows have
// no lifecycle management: the function app's daily SweepExpiredResults deletes result rows after
// the same number of days (Results__RetentionDays, functions.bicep).
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
              prefixMatch: ['chest/', 'ct-scans/', 'heatmaps/'] // scanContainers, heatmapContainer
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
