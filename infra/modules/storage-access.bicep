// Data-plane role assignments on the storage account, scoped as narrowly as each caller allows.
//
// Function App (system-assigned identity):
//   Storage Blob Data Owner        -> only the host's containers (azure-webjobs-hosts: locks and
//                                     blob receipts; azure-webjobs-secrets: keys), which is what
//                                     Microsoft documents for identity-based AzureWebJobsStorage
//   Storage Blob Data Contributor  -> the Flex Consumption deployment-package container
//   Storage Blob Data Contributor  -> chest, ct-scans (the trigger reads scans; POST /api/scans,
//                                     the browser app's upload, writes them)
//   Storage Queue Data Contributor -> account (scan-results, the poison queue and the host's own
//                                     internal queues, whose names are not known up front)
//   Storage Table Data Contributor -> account (ScanResults, ScanTimeline; table-scoped roles would
//                                     break create-if-not-exists calls)
// Event Grid system topic: Storage Blob Data Contributor -> the dead-letter container only.
// Deploying user (optional): Blob Data Contributor on chest/ct (upload scans), Table and Queue
//   Data Reader on the account (query results, peek messages).
param storageAccountName string
param deploymentContainerName string
param deadLetterContainerName string
param functionAppName string
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

// container '' = whole account.
var fn = { principalId: functionPrincipalId, type: 'ServicePrincipal', seed: functionAppName }
var functionOwner = grantAccountWideBlobOwner
  ? [{ container: '', role: roles.blobDataOwner }]
  : [
      { container: 'azure-webjobs-hosts', role: roles.blobDataOwner }
      { container: 'azure-webjobs-secrets', role: roles.blobDataOwner }
    ]
var functionAssignments = map(
  concat(functionOwner, [
    { container: deploymentContainerName, role: roles.blobDataContributor }
    { container: 'chest', role: roles.blobDataContributor }
    { container: 'ct-scans', role: roles.blobDataContributor }
    { container: '', role: roles.queueDataContributor }
    { container: '', role: roles.tableDataContributor }
  ]),
  a => union(a, fn)
)

var eventGridAssignments = [
  {
    container: deadLetterContainerName
    role: roles.blobDataContributor
    principalId: eventGridPrincipalId
    type: 'ServicePrincipal'
    seed: systemTopicName
  }
]

// principalType left empty: the deployer may be a user or a CI service principal.
var user = { principalId: userPrincipalId, type: '', seed: userPrincipalId }
var userAssignments = empty(userPrincipalId)
  ? []
  : map(
      [
        { container: 'chest', role: roles.blobDataContributor }
        { container: 'ct-scans', role: roles.blobDataContributor }
        { container: '', role: roles.tableDataReader }
        { container: '', role: roles.queueDataReader }
      ],
      a => union(a, user)
    )

module assignments 'storage-role.bicep' = [
  for (a, i) in concat(functionAssignments, eventGridAssignments, userAssignments): {
    name: 'storage-role-${i}'
    params: {
      storageAccountName: storageAccountName
      containerName: a.container
      roleDefinitionId: a.role
      principalId: a.principalId
      principalType: a.type
      principalSeed: a.seed
    }
  }
]
