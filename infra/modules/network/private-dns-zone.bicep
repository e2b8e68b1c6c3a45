// A private DNS zone (e.g. privatelink.azurecr.io) linked to one VNet.

@description('Zone name, e.g. privatelink.vaultcore.azure.net.')
param name string

@description('Tags applied to the zone.')
param tags object

@description('Resource id of the VNet the zone is linked to.')
param vnetId string

resource zone 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: name
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: zone
  name: 'link-${uniqueString(vnetId)}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}

output id string = zone.id
output name string = zone.name
