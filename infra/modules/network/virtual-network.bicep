// The VNet: AKS nodes, private endpoints (ACR, Key Vault) and Elastic Premium VNet integration.

@description('Name of the virtual network.')
param name string

@description('Azure region of the VNet.')
param location string

@description('Tags applied to the VNet.')
param tags object

@description('Address space of the VNet, a /16; the subnets are carved from its first /18, /24 and /24.')
param addressPrefix string

// Overlay CNI: pods get addresses from the cluster's pod CIDR, so the node subnet only holds nodes.
var aksSubnetPrefix = cidrSubnet(addressPrefix, 18, 0)
var privateEndpointSubnetPrefix = cidrSubnet(addressPrefix, 24, 64)
var functionSubnetPrefix = cidrSubnet(addressPrefix, 24, 65)

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snet-aks'
        properties: {
          addressPrefix: aksSubnetPrefix
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
      {
        name: 'snet-function'
        properties: {
          addressPrefix: functionSubnetPrefix
          // Elastic Premium regional VNet integration needs a subnet delegated to server farms.
          delegations: [
            {
              name: 'web-serverfarms'
              properties: {
                serviceName: 'Microsoft.Web/serverFarms'
              }
            }
          ]
        }
      }
    ]
  }
}

output id string = vnet.id
output name string = vnet.name
output aksSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-aks')
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-private-endpoints')
output functionSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-function')
