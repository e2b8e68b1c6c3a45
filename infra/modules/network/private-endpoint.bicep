// A private endpoint for one sub-resource (groupId) of one resource, registered in a private DNS zone.

@description('Name of the private endpoint.')
param name string

@description('Azure region of the endpoint (the VNet\'s region).')
param location string

@description('Tags applied to the endpoint.')
param tags object

@description('Subnet the endpoint\'s NIC is placed in.')
param subnetId string

@description('Resource id of the service behind the endpoint.')
param targetResourceId string

@description('Sub-resource of the target, e.g. vault (Key Vault) or registry (ACR).')
param groupId string

@description('Private DNS zone the endpoint registers its A records in; empty: none.')
param privateDnsZoneId string = ''

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource dnsGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (!empty(privateDnsZoneId)) {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: replace(last(split(privateDnsZoneId, '/')), '.', '-')
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

output id string = endpoint.id
