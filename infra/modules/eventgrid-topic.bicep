// Event Grid system topic for the storage account's blob events. The subscriptions that deliver
// chest/ and ct-scans/ uploads to the functions are added after code deployment
// (blob-event-subscriptions.bicep, run by infra/hooks/postdeploy.sh).
param location string
param tags object
param name string
param storageAccountName string

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  // Identity used to write undeliverable events to the dead-letter container.
  identity: { type: 'SystemAssigned' }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output principalId string = systemTopic.identity.principalId
