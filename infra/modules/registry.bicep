// Azure Container Registry for the scoring worker image. Admin user disabled: pulls use the
// worker's managed identity (AcrPull), pushes use the deployer's Entra ID token (azd).
param location string
param tags object
param name string

@description('Standard: the CUDA base layers alone are several GB; Basic includes only 10 GiB of storage.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param sku string = 'Standard'

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: sku }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

output loginServer string = registry.properties.loginServer
