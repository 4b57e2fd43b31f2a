// The private network the system runs in: the function app's outbound traffic (Flex Consumption VNet
// integration), the worker's Container Apps environment (internal: no public ingress), and private
// endpoints for the storage account's blob, queue and table services, with their private DNS zones.
param location string
param tags object
param name string
param storageAccountName string

var subnets = {
  functions: '10.40.0.0/24' // Flex Consumption VNet integration (delegated to Microsoft.App/environments)
  worker: '10.40.2.0/23' // Container Apps environment with workload profiles (a /27 at least)
  privateEndpoints: '10.40.1.0/24'
}
var storageServices = ['blob', 'queue', 'table']

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: ['10.40.0.0/16'] }
    subnets: [
      {
        name: 'functions'
        properties: {
          addressPrefix: subnets.functions
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'worker'
        properties: {
          addressPrefix: subnets.worker
          delegations: [{ name: 'containerapps', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'private-endpoints'
        properties: { addressPrefix: subnets.privateEndpoints }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in storageServices: {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in storageServices: {
    parent: zones[i]
    name: 'vnet'
    location: 'global'
    properties: {
      virtualNetwork: { id: vnet.id }
      registrationEnabled: false
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for service in storageServices: {
    name: 'pe-${storageAccountName}-${service}'
    location: location
    tags: tags
    properties: {
      subnet: { id: '${vnet.id}/subnets/private-endpoints' }
      privateLinkServiceConnections: [
        {
          name: service
          properties: {
            privateLinkServiceId: storage.id
            groupIds: [service]
          }
        }
      ]
    }
  }
]

resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (service, i) in storageServices: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [{ name: service, properties: { privateDnsZoneId: zones[i].id } }]
    }
  }
]

output vnetId string = vnet.id
output functionsSubnetId string = '${vnet.id}/subnets/functions'
output workerSubnetId string = '${vnet.id}/subnets/worker'
