// CovidServerless: the whole system, deployable with `azd up` (see azure.yaml and docs/deploy.md).
//
//   blob upload (chest/, ct-scans/) -> Event Grid system topic -> Function App (Flex Consumption)
//     -> scoring: GPU worker (Container Apps, serverless GPU) or in-process fallback
//     -> Table storage (ScanResults, ScanTimeline) + queue scan-results; HTTP API on the functions
//
// Identity-only: the storage account has shared-key access disabled; every app uses its
// system-assigned managed identity with role assignments scoped as narrowly as the runtime allows.
//
// The Event Grid subscriptions need the function's blobs_extension system key, which exists only
// after the code is deployed; they are created by infra/hooks/postdeploy.sh from
// infra/modules/blob-event-subscriptions.bicep (azd runs the hook after `azd deploy`).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; also names the resource group and seeds unique resource names.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer serverless GPUs for the chosen profile (see docs/deploy.md).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Serverless GPU workload profile of the scoring worker.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuWorkloadProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Where the functions score scans: Remote = the GPU worker, InProcess = inside the function host.')
@allowed([
  'Remote'
  'InProcess'
])
param scoringMode string = 'Remote'

@description('When the worker stays unavailable, score in-process instead of leaving the scan for retry.')
param scoringFallbackToInProcess bool = true

@description('Seconds one remote scoring call may take, retries included: long enough for a GPU replica to start from zero.')
@minValue(1)
@maxValue(600)
param scoringRemoteTimeoutSeconds int = 180

@description('Flex Consumption instance memory (MB). In-process scoring (fallback) loads the ensembles, hence 4096.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 4096

@description('Flex Consumption maximum instance count.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Always-ready Flex Consumption instances for the blob trigger group (0 = pure pay-per-use, cold starts possible).')
@minValue(0)
param functionAlwaysReadyInstances int = 0

@description('Maximum GPU worker replicas (each replica holds a whole GPU; your GPU quota caps this too).')
@minValue(1)
@maxValue(10)
param workerMaxReplicas int = 2

@description('Concurrent HTTP requests per worker replica before another replica is added. The worker batches them.')
@minValue(1)
param workerConcurrentRequests int = 32

@description('Set by azd (SERVICE_WORKER_RESOURCE_EXISTS): true once the worker app exists, so its deployed image is kept.')
param workerExists bool = false

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID); granted data access to upload scans and read results. Empty = none.')
param principalId string = ''

@description('Escape hatch: grant the function Storage Blob Data Owner on the whole account instead of per container.')
param grantAccountWideBlobOwner bool = false

@description('Entra ID app registration of the scoring worker: the audience of its tokens (application ID URI, e.g. api://covidscan-worker, or client id). Empty: the worker refuses to start (fail closed).')
param workerAuthAudience string = ''

@description('Client id of the results API\'s Entra ID app registration (Easy Auth on the function app). Empty: every request is refused.')
param resultsApiClientId string = ''

@description('Days scans, heatmaps and result rows are kept: the storage lifecycle rule deletes scans and heatmaps, the function app\'s daily sweep result rows.')
@minValue(1)
param retentionDays int = 30

@description('Storage public network access: Disabled (private endpoints only) or Enabled with the firewall ranges below.')
@allowed([
  'Disabled'
  'Enabled'
])
param storagePublicNetworkAccess string = 'Disabled'

@description('With storagePublicNetworkAccess Enabled: public IP ranges let through the storage firewall (e.g. a deployer\'s).')
param storageAllowedIpRanges array = []

var tags = { 'azd-env-name': environmentName }
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

// Names are computed here from deployment-time values only (keeps what-if accurate).
var names = {
  storage: 'st${resourceToken}'
  deploymentContainer: 'app-package-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  appInsights: 'appi-${resourceToken}'
  registry: 'cr${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  containerEnv: 'cae-${resourceToken}'
  worker: 'ca-worker-${resourceToken}'
  systemTopic: 'evgt-${resourceToken}'
  vnet: 'vnet-${resourceToken}'
  deadLetterContainer: 'eventgrid-deadletter'
}

// The Functions host's id, as the host derives it from the site name (lower-case, at most 32
// characters), stated as an app setting so its blob-trigger queue has a name known here.
var functionsHostId = take(names.functionApp, 32)

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.storage
    deploymentContainerName: names.deploymentContainer
    deadLetterContainerName: names.deadLetterContainer
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    retentionDays: retentionDays
    functionsHostId: functionsHostId
    publicNetworkAccess: storagePublicNetworkAccess
    allowedIpRanges: storageAllowedIpRanges
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.vnet
    storageAccountName: names.storage
  }
  dependsOn: [storage]
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.registry
  }
}

module worker 'modules/worker.bicep' = {
  name: 'worker'
  scope: rg
  params: {
    location: location
    tags: tags
    environmentName: names.containerEnv
    appName: names.worker
    registryName: names.registry
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    gpuWorkloadProfileType: gpuWorkloadProfileType
    maxReplicas: workerMaxReplicas
    concurrentRequests: workerConcurrentRequests
    exists: workerExists
    subnetId: network.outputs.workerSubnetId
    authTenantId: tenant().tenantId
    authAudience: workerAuthAudience
  }
  dependsOn: [registry]
}

module workerDns 'modules/worker-dns.bicep' = {
  name: 'worker-dns'
  scope: rg
  params: {
    tags: tags
    vnetId: network.outputs.vnetId
    // The environment's domain exists only once it is created; what-if cannot predict this zone's name.
    #disable-next-line what-if-short-circuiting
    defaultDomain: worker.outputs.defaultDomain
    staticIp: worker.outputs.staticIp
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: names.plan
    appName: names.functionApp
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
    appInsightsName: names.appInsights
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
    alwaysReadyInstances: functionAlwaysReadyInstances
    scoringMode: scoringMode
    scoringRemoteEndpoint: worker.outputs.url
    scoringFallbackToInProcess: scoringFallbackToInProcess
    scoringRemoteTimeoutSeconds: scoringRemoteTimeoutSeconds
    subnetId: network.outputs.functionsSubnetId
    workerTokenScope: empty(workerAuthAudience) ? '' : '${workerAuthAudience}/.default'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    resultsApiClientId: resultsApiClientId
    resultsApiAudiences: empty(resultsApiClientId) ? [] : ['api://${resultsApiClientId}']
    resultRetentionDays: retentionDays
    hostId: functionsHostId
  }
  dependsOn: [storage] // monitoring: implied through worker.outputs
}

module eventGridTopic 'modules/eventgrid-topic.bicep' = {
  name: 'eventgrid-topic'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.systemTopic
    storageAccountName: names.storage
  }
  dependsOn: [storage]
}

module storageAccess 'modules/storage-access.bicep' = {
  name: 'storage-access'
  scope: rg
  params: {
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
    deadLetterContainerName: names.deadLetterContainer
    functionAppName: names.functionApp
    functionsHostId: functionsHostId
    functionPrincipalId: functions.outputs.principalId
    systemTopicName: names.systemTopic
    eventGridPrincipalId: eventGridTopic.outputs.principalId
    userPrincipalId: principalId
    grantAccountWideBlobOwner: grantAccountWideBlobOwner
  }
  dependsOn: [storage]
}

// azd reads these into the environment (.azure/<env>/.env); the postdeploy hook uses some of them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output REGISTRY_LOGIN_SERVER string = registry.outputs.loginServer
output STORAGE_ACCOUNT_NAME string = names.storage
output AZURE_FUNCTION_APP_NAME string = names.functionApp
output FUNCTION_APP_URL string = functions.outputs.url
output WORKER_URL string = worker.outputs.url
output EVENTGRID_SYSTEM_TOPIC_NAME string = names.systemTopic
output EVENTGRID_DEADLETTER_CONTAINER string = names.deadLetterContainer
