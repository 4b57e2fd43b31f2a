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
@description('VNet integration subnet: outbound traffic to storage (private endpoints) and the internal worker.')
param subnetId string
@description('Scope of the tokens the functions send to the worker, e.g. api://covidscan-worker/.default.')
param workerTokenScope string
@description('Log Analytics workspace for the app\'s platform logs (FunctionAppLogs).')
param logAnalyticsWorkspaceId string
@description('Client id of the results API\'s Entra ID app registration (Easy Auth). Its app role gates reading results.')
param resultsApiClientId string
@description('Audiences accepted by Easy Auth besides the client id (e.g. the application ID URI).')
param resultsApiAudiences array
@description('Days result rows are kept (Results:RetentionDays): the same days the storage lifecycle rule keeps scans.')
@minValue(1)
param resultRetentionDays int
@description('The Functions host id, fixed so the blob trigger\'s dispatch queue has a known name (storage.bicep).')
@maxLength(32)
param hostId string

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
    virtualNetworkSubnetId: subnetId
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
        { name: 'WorkerToken__Scope', value: workerTokenScope }
        { name: 'Results__RetentionDays', value: string(resultRetentionDays) }
        // The default host id (the site name, lower-case, at most 32 characters), stated so the blob
        // trigger's dispatch queue, azure-webjobs-blobtrigger-{hostId}, is known to storage-access.bicep.
        { name: 'AzureFunctionsWebHost__hostid', value: hostId }
        // The host's diagnostic events go to a new table each month, which a role scoped to the
        // result tables cannot create; FunctionAppLogs (Log Analytics) keep the host's logs.
        { name: 'AzureWebJobsFeatureFlags', value: 'DisableDiagnosticEventLogging' }
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

// Easy Auth: every request needs an Entra ID sign-in for the results API's app registration; anonymous
// requests get 401. Only the blob extension's Event Grid webhook (authenticated by its system key) is exempt.
resource auth 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: ['/runtime/webhooks/blobs']
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: resultsApiClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: concat([resultsApiClientId], resultsApiAudiences)
        }
      }
    }
    login: { tokenStore: { enabled: false } }
  }
}

resource appLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: functionApp
  name: 'to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ category: 'FunctionAppLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output principalId string = functionApp.identity.principalId
output url string = 'https://${functionApp.properties.defaultHostName}'
