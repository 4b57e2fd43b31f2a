// Event Grid subscriptions that deliver BlobCreated events for chest/ and ct-scans/ to the functions'
// Event Grid-based blob triggers (ScoreChestScan, ScoreCtScan) through the blob extension webhook.
//
// Deployed on its own, AFTER the function code (infra/hooks/postdeploy.sh, run by azd): the
// webhook URL needs the host's `blobs_extension` system key, which the blob extension creates when
// the deployed app first starts, and Event Grid validates the endpoint when the subscription is
// created. The key is read with listKeys inside this deployment, so it never leaves ARM.
//
//   az deployment group create -g <rg> -f infra/modules/blob-event-subscriptions.bicep \
//     -p functionAppName=<func> systemTopicName=<evgt> storageAccountName=<st>
targetScope = 'resourceGroup'

param functionAppName string
param systemTopicName string
param storageAccountName string
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Delivery attempts before an event is dead-lettered (Event Grid retries with back-off).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

resource functionApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

// Function name -> container. The names are the contract with functions/CovidServerless.Functions.
var triggers = [
  { functionName: 'ScoreChestScan', container: 'chest' }
  { functionName: 'ScoreCtScan', container: 'ct-scans' }
]

var blobsExtensionKey = listKeys('${functionApp.id}/host/default', '2025-03-01').systemKeys.blobs_extension
var webhookBase = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs'

resource subscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [
  for t in triggers: {
    parent: systemTopic
    name: 'blob-${t.container}-to-${toLower(t.functionName)}'
    properties: {
      destination: {
        endpointType: 'WebHook'
        properties: {
          endpointUrl: '${webhookBase}?functionName=Host.Functions.${t.functionName}&code=${blobsExtensionKey}'
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      eventDeliverySchema: 'EventGridSchema'
      filter: {
        includedEventTypes: ['Microsoft.Storage.BlobCreated']
        // Trailing slash: only this container, not e.g. "chest-archive".
        subjectBeginsWith: '/blobServices/default/containers/${t.container}/'
      }
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: 1440
      }
      // Undeliverable events land in a blob container (written with the topic's identity), so an
      // upload is never silently dropped even if the functions are down for a day.
      deadLetterWithResourceIdentity: {
        identity: { type: 'SystemAssigned' }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: storage.id
            blobContainerName: deadLetterContainerName
          }
        }
      }
    }
  }
]
