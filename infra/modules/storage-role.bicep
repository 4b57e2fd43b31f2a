// One data-plane role assignment on the storage account, or on one blob container of it.
param storageAccountName string
@description('Blob container to scope the assignment to; empty = the whole account.')
param containerName string
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
      name: empty(containerName) ? 'unused' : containerName
    }
  }
}

var roleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)

resource onContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(containerName)) {
  scope: account::blobService::container
  name: guid(account::blobService::container.id, principalSeed, roleDefinitionId)
  properties: {
    roleDefinitionId: roleId
    principalId: principalId
    principalType: empty(principalType) ? null : principalType
  }
}

resource onAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(containerName)) {
  scope: account
  name: guid(account.id, principalSeed, roleDefinitionId)
  properties: {
    roleDefinitionId: roleId
    principalId: principalId
    principalType: empty(principalType) ? null : principalType
  }
}
