// Data-plane role assignments on the storage account, each scoped to the container, queue or table
// its principal uses (infra/check-security.py fails on any other scope not listed there with a reason).
//
// Function App (system-assigned identity):
//   Storage Blob Data Owner        -> the host's containers (azure-webjobs-hosts: locks, timer
//                                     schedules and blob receipts; azure-webjobs-secrets: keys)
//   Storage Blob Data Contributor  -> the Flex Consumption deployment-package container
//   Storage Blob Data Contributor  -> chest, ct-scans (the trigger reads scans; POST /api/scans
//                                     writes them), heatmaps (drawn overlays)
//   Storage Queue Data Contributor -> scan-results; the blob extension's dispatch queue
//                                     (azure-webjobs-blobtrigger-{hostId}, host id fixed by an app
//                                     setting) and poison queue; the poison queue's own two poison queues
//   Storage Table Data Contributor -> ScanResults, ScanTimeline (the host's own diagnostic-events
//                                     tables, one new table a month, are switched off: functions.bicep)
// Event Grid system topic: Storage Blob Data Contributor -> the dead-letter container only.
// Deploying user (optional): Blob Data Contributor on chest/ct-scans (upload scans, backlog --requeue),
//   Table Data Reader on the two result tables, Queue Data Reader on the results queue; for
//   covidscan replay-poison --move: Queue Data Contributor on the poison queue and its third poison
//   queue, Blob Data Contributor on the dead-letter container.
// Account-wide: only Storage Blob Data Owner with grantAccountWideBlobOwner (off by default), for
//   a host that must create containers of its own.
param storageAccountName string
param deploymentContainerName string
param deadLetterContainerName string
param functionAppName string
@description('The Functions host id (app setting AzureFunctionsWebHost__hostid): names the blob trigger\'s dispatch queue.')
param functionsHostId string
param functionPrincipalId string
param systemTopicName string
param eventGridPrincipalId string
param userPrincipalId string
param grantAccountWideBlobOwner bool

var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  queueDataReader: '19e7f393-937e-4f77-808e-94535e297925'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  tableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
}

var poisonQueue = 'webjobs-blobtrigger-poison'

// One literal list (infra/check-security.py reads it from the compiled template): kind and name
// give the scope; enabled leaves out what a deployment does not want.
var fn = functionPrincipalId
var user = userPrincipalId
var withUser = !empty(userPrincipalId)
var assignments = [
  { kind: 'account', name: '', role: roles.blobDataOwner, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: grantAccountWideBlobOwner }
  { kind: 'container', name: 'azure-webjobs-hosts', role: roles.blobDataOwner, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: !grantAccountWideBlobOwner }
  { kind: 'container', name: 'azure-webjobs-secrets', role: roles.blobDataOwner, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: !grantAccountWideBlobOwner }
  { kind: 'container', name: deploymentContainerName, role: roles.blobDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'container', name: 'chest', role: roles.blobDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'container', name: 'ct-scans', role: roles.blobDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'container', name: 'heatmaps', role: roles.blobDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'queue', name: 'scan-results', role: roles.queueDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'queue', name: 'azure-webjobs-blobtrigger-${functionsHostId}', role: roles.queueDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'queue', name: poisonQueue, role: roles.queueDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'queue', name: '${poisonQueue}-poison', role: roles.queueDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'queue', name: '${poisonQueue}-poison-poison', role: roles.queueDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'table', name: 'ScanResults', role: roles.tableDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'table', name: 'ScanTimeline', role: roles.tableDataContributor, principalId: fn, type: 'ServicePrincipal', seed: functionAppName, enabled: true }
  { kind: 'container', name: deadLetterContainerName, role: roles.blobDataContributor, principalId: eventGridPrincipalId, type: 'ServicePrincipal', seed: systemTopicName, enabled: true }
  // principalType left empty: the deployer may be a user or a CI service principal.
  { kind: 'container', name: 'chest', role: roles.blobDataContributor, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'container', name: 'ct-scans', role: roles.blobDataContributor, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'table', name: 'ScanResults', role: roles.tableDataReader, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'table', name: 'ScanTimeline', role: roles.tableDataReader, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'queue', name: 'scan-results', role: roles.queueDataReader, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'queue', name: poisonQueue, role: roles.queueDataContributor, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'queue', name: '${poisonQueue}-poison-poison', role: roles.queueDataContributor, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
  { kind: 'container', name: deadLetterContainerName, role: roles.blobDataContributor, principalId: user, type: '', seed: userPrincipalId, enabled: withUser }
]

module roleAssignments 'storage-role.bicep' = [
  for (a, i) in assignments: if (a.enabled) {
    name: 'storage-role-${i}'
    params: {
      storageAccountName: storageAccountName
      scopeKind: a.kind
      scopeName: a.name
      roleDefinitionId: a.role
      principalId: a.principalId
      principalType: a.type
      principalSeed: a.seed
    }
  }
]
