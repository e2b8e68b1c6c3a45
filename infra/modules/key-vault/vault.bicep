// A Key Vault with Azure RBAC authorization (no access policies), optionally behind a private endpoint.

@description('Name of the Key Vault (3-24 characters, globally unique).')
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object

@allowed([
  'Enabled'
  'Disabled'
])
@description('Enabled: reachable from the internet (still Entra-authorized). Disabled: private endpoint only.')
param publicNetworkAccess string

@description('Subnet for the vault\'s private endpoint; empty: no private endpoint.')
param privateEndpointSubnetId string = ''

@description('Private DNS zone privatelink.vaultcore.azure.net for the endpoint; empty: no DNS registration.')
param privateDnsZoneId string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    // Short retention so `azd down --purge` plus a new `azd up` can reuse the name soon.
    softDeleteRetentionInDays: 7
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'AzureServices'
    }
  }
}

module endpoint '../network/private-endpoint.bicep' = if (!empty(privateEndpointSubnetId)) {
  name: '${name}-pep'
  params: {
    name: 'pep-${name}'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    targetResourceId: vault.id
    groupId: 'vault'
    privateDnsZoneId: privateDnsZoneId
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
