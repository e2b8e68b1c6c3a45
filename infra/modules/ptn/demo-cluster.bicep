// Pattern: the demo environment of the reference design. The AKS cluster plus ACR and a workload
// Key Vault, both reachable only through private endpoints in the cluster's VNet.

@description('Azure region of every demo resource.')
param location string

@description('Tags applied to every demo resource.')
param tags object

@description('Short unique token used to build globally unique names.')
param resourceToken string

@description('Name of the AKS cluster (main.bicep computes it so that role assignments can target it).')
param clusterName string

@description('Kubernetes version; empty picks the AKS default.')
param kubernetesVersion string = ''

@description('VM size of the gpu pool.')
param gpuVmSize string

@description('Resource id of the node subnet.')
param aksSubnetId string

@description('Resource id of the private-endpoint subnet.')
param privateEndpointSubnetId string

@description('Resource id of the VNet the private DNS zones are linked to.')
param vnetId string

@description('Resource id of the Log Analytics workspace that receives the cluster\'s control-plane logs.')
param logAnalyticsWorkspaceId string

@description('Object id of the operator running azd (cluster admin on the demo cluster). Empty: no grant.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal in operatorPrincipalId.')
param operatorPrincipalType string = 'User'

module registryDns '../network/private-dns-zone.bicep' = {
  name: 'dns-acr'
  params: {
    name: 'privatelink.azurecr.io'
    tags: tags
    vnetId: vnetId
  }
}

module vaultDns '../network/private-dns-zone.bicep' = {
  name: 'dns-vault'
  params: {
    name: 'privatelink.vaultcore.azure.net'
    tags: tags
    vnetId: vnetId
  }
}

module registry '../container-registry/registry.bicep' = {
  name: 'registry'
  params: {
    name: 'cr${resourceToken}'
    location: location
    tags: tags
    privateEndpointSubnetId: privateEndpointSubnetId
    privateDnsZoneId: registryDns.outputs.id
  }
}

module workloadVault '../key-vault/vault.bicep' = {
  name: 'workload-vault'
  params: {
    name: 'kv-aks-${resourceToken}'
    location: location
    tags: tags
    publicNetworkAccess: 'Disabled'
    privateEndpointSubnetId: privateEndpointSubnetId
    privateDnsZoneId: vaultDns.outputs.id
  }
}

module cluster '../container-service/managed-cluster.bicep' = {
  name: 'managed-cluster'
  params: {
    name: clusterName
    location: location
    tags: tags
    kubernetesVersion: kubernetesVersion
    subnetId: aksSubnetId
    logAnalyticsWorkspaceId: logAnalyticsWorkspaceId
    registryName: registry.outputs.name
    gpuVmSize: gpuVmSize
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

output clusterId string = cluster.outputs.id
output clusterName string = cluster.outputs.name
output registryName string = registry.outputs.name
output registryLoginServer string = registry.outputs.loginServer
output workloadVaultName string = workloadVault.outputs.name
