// Function App on the Flex Consumption plan (Linux, .NET 10 isolated worker) for
// functions/CovidServerless.Functions. Host storage and the deployment package use the app's
// system-assigned identity; no storage key or connection string with a key exists anywhere.
param location string
param tags object
param planName string
param appName string
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param instanceMemoryMB int
param maximumInstanceCount int
param alwaysReadyInstances int
param scoringMode string
param scoringRemoteEndpoint string
param scoringFallbackToInProcess bool
param scoringRemoteTimeoutSeconds int

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  // azd finds the deploy target by this tag (service "functions" in azure.yaml).
  tags: union(tags, { 'azd-service-name': 'functions' })
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // Identity-based host storage (AzureWebJobsStorage is also the blob trigger's connection).
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        // Per-service URIs, for the core's Table/Queue/Blob clients built from this section.
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
        // Telemetry authenticated with the app's identity (Monitoring Metrics Publisher below).
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'Scoring__Mode', value: scoringMode }
        { name: 'Scoring__RemoteEndpoint', value: scoringRemoteEndpoint }
        { name: 'Scoring__FallbackToInProcess', value: scoringFallbackToInProcess ? 'true' : 'false' }
        { name: 'Scoring__RemoteTimeoutSeconds', value: string(scoringRemoteTimeoutSeconds) }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        // 'blob' is the always-ready group of the Event Grid-based blob triggers.
        alwaysReady: alwaysReadyInstances > 0 ? [{ name: 'blob', instanceCount: alwaysReadyInstances }] : []
      }
      runtime: {
        // Flex Consumption supports .NET 10 isolated (the only Linux plan that does).
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// No basic-auth (publishing profile) deployments: azd deploys with Entra ID.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: { allow: false }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: { allow: false }
}

// Monitoring Metrics Publisher on the Application Insights resource: lets the host send telemetry
// with its identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, functionApp.id, '3913510d-42f4-4e42-8a64-420c390055eb')
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      '3913510d-42f4-4e42-8a64-420c390055eb'
    )
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output principalId string = functionApp.identity.principalId
output url string = 'https://${functionApp.properties.defaultHostName}'
