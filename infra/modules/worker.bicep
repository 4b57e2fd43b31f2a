// Container Apps environment with a serverless GPU workload profile, and the scoring worker
// (src/CovidServerless.Worker, image built from infra/worker.Dockerfile and pushed by azd).
param location string
param tags object
param environmentName string
param appName string
param registryName string
param logAnalyticsWorkspaceId string
param gpuWorkloadProfileType string
param maxReplicas int
param concurrentRequests int
param exists bool
@description('Subnet of the shared VNet for the environment; the environment is internal (no public address).')
param subnetId string
@description('Entra ID tenant whose tokens the worker accepts.')
param authTenantId string
@description('The worker\'s app registration (application ID URI or client id): the audience of accepted tokens.')
param authAudience string

// A replica on a serverless GPU profile gets a whole GPU; request the profile's full CPU/memory
// (figures from Microsoft's workload profile table, not measured here).
var gpuReplicaResources = {
  'Consumption-GPU-NC8as-T4': { cpu: 8, memory: '56Gi' }
  'Consumption-GPU-NC24-A100': { cpu: 24, memory: '220Gi' }
}
var gpuProfileName = 'gpu'

// Until the first `azd deploy` there is no worker image in the registry. The placeholder is
// Microsoft's ASP.NET sample: it listens on 8080 and answers /healthz, but has no /readyz, so the
// readiness probe uses /healthz until the real image is deployed and the infra is provisioned again.
var placeholderImage = 'mcr.microsoft.com/dotnet/samples:aspnetapp'
var port = 8080

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' existing = {
  name: registryName
}

resource containerEnv 'Microsoft.App/managedEnvironments@2026-07-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    // Logs go to Azure Monitor and on to the workspace via the diagnostic setting below; this
    // avoids putting the workspace's shared key into the environment.
    appLogsConfiguration: { destination: 'azure-monitor' }
    // Internal: the environment gets a private IP in the VNet only; the function app reaches it through
    // its VNet integration, nothing on the internet does.
    vnetConfiguration: {
      internal: true
      infrastructureSubnetId: subnetId
    }
    workloadProfiles: [
      { name: 'Consumption', workloadProfileType: 'Consumption' }
      // Serverless GPU: billed per second while replicas run, scales to zero.
      { name: gpuProfileName, workloadProfileType: gpuWorkloadProfileType }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: containerEnv
  name: 'to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

module current 'fetch-container-image.bicep' = {
  name: 'worker-current-image'
  params: {
    exists: exists
    name: appName
  }
}

resource app 'Microsoft.App/containerApps@2026-07-01' = {
  name: appName
  location: location
  // azd finds the deploy target by this tag (service "worker" in azure.yaml).
  tags: union(tags, { 'azd-service-name': 'worker' })
  identity: { type: 'SystemAssigned' }
  properties: {
    environmentId: containerEnv.id
    workloadProfileName: gpuProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        // On an internal environment "external" means reachable from the VNet (the function app), not
        // the internet. Every request but the probes also needs an Entra ID token (WorkerAuth below).
        external: true
        targetPort: port
        transport: 'auto'
        allowInsecure: false
      }
      // Pull with the app's own identity (AcrPull below); no registry password.
      registries: [{ server: registry.properties.loginServer, identity: 'system' }]
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: exists ? current.outputs.image : placeholderImage
          resources: {
            cpu: gpuReplicaResources[gpuWorkloadProfileType].cpu
            memory: gpuReplicaResources[gpuWorkloadProfileType].memory
          }
          env: [
            { name: 'Models__Provider', value: 'Cuda' }
            { name: 'WorkerAuth__TenantId', value: authTenantId }
            { name: 'WorkerAuth__Audience', value: authAudience }
          ]
          // Container Apps caps failureThreshold at 10, periodSeconds at 240 and initialDelaySeconds at 60.
          probes: [
            {
              // The worker answers HTTP only once CUDA is up and every model is loaded: up to 10 + 10 x 15 s.
              type: 'Startup'
              httpGet: { path: '/healthz', port: port }
              initialDelaySeconds: 10
              periodSeconds: 15
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: { path: '/healthz', port: port }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              // Ready only when every model loaded (503 with the reason otherwise).
              type: 'Readiness'
              httpGet: { path: exists ? '/readyz' : '/healthz', port: port }
              periodSeconds: 5
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 0 // scale to zero: no GPU billing while idle
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'http-concurrency'
            http: { metadata: { concurrentRequests: string(concurrentRequests) } }
          }
        ]
      }
    }
  }
}

// AcrPull on the registry only.
resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, app.id, '7f951dda-4ed3-4680-a7ca-43fe172d538d')
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      '7f951dda-4ed3-4680-a7ca-43fe172d538d'
    )
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output defaultDomain string = containerEnv.properties.defaultDomain
output staticIp string = containerEnv.properties.staticIp
output url string = 'https://${app.properties.configuration.ingress.fqdn}'
