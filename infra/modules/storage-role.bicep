// One data-plane role assignment on one blob container, queue or table of the storage account, or
// (only where a caller needs it: storage-access.bicep says why) on the whole account.
param storageAccountName string
@allowed([
  'container'
  'queue'
  'table'
  'account'
])
param scopeKind string
@description('The container, queue or table the assignment is scoped to (unused for account).')
param scopeName string
param roleDefinitionId string
param principalId string
@description('Empty when the principal may be a user or a service principal.')
param principalType string
@description('Deployment-time value that identifies the principal (e.g. its resource name), used to name the assignment.')
param principalSeed string

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource container 'containers' existing = {
      name: scopeKind == 'container' ? scopeName : 'unused'
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource queue 'queues' existing = {
      name: scopeKind == 'queue' ? scopeName : 'unused'
    }
  }

  resource tableService 'tableServices' existing = {
    name: 'default'

    resource table 'tables' existing = {
      name: scopeKind == 'table' ? scopeName : 'unused'
    }
  }
}

var roleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
var properties = {
  roleDefinitionId: roleId
  principalId: principalId
  principalType: empty(principalType) ? null : principalType
}

resource onContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'container') {
  scope: account::blobService::container
  name: guid(account::blobService::container.id, principalSeed, roleDefinitionId)
  properties: properties
}

resource onQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'queue') {
  scope: account::queueService::queue
  name: guid(account::queueService::queue.id, principalSeed, roleDefinitionId)
  properties: properties
}

resource onTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'table') {
  scope: account::tableService::table
  name: guid(account::tableService::table.id, principalSeed, roleDefinitionId)
  properties: properties
}

resource onAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'account') {
  scope: account
  name: guid(account.id, principalSeed, roleDefinitionId)
  properties: properties
}
