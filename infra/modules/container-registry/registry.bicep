// Azure Container Registry reachable only through a private endpoint (Premium is required for that).

@description('Name of the registry (5-50 letters and digits, globally unique).')
param name string

@description('Azure region of the registry.')
param location string

@description('Tags applied to the registry.')
param tags object

@description('Subnet for the registry\'s private endpoint.')
param privateEndpointSubnetId string

@description('Private DNS zone privatelink.azurecr.io for the endpoint.')
param privateDnsZoneId string

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Premium'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Disabled'
    networkRuleBypassOptions: 'AzureServices'
  }
}

module endpoint '../network/private-endpoint.bicep' = {
  name: '${name}-pep'
  params: {
    name: 'pep-${name}'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    targetResourceId: registry.id
    groupId: 'registry'
    privateDnsZoneId: privateDnsZoneId
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
