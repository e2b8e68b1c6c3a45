// The reference AKS cluster: Azure CNI overlay + Cilium, Entra ID with Azure RBAC, no local accounts,
// pools system (System, autoscaler 1-3), projecta (User, min 0) and gpu (User, min 0, tainted).

@description('Name of the AKS cluster.')
param name string

@description('Azure region of the cluster.')
param location string

@description('Tags applied to the cluster and its control-plane identity.')
param tags object

@description('Kubernetes version; empty picks the AKS default.')
param kubernetesVersion string = ''

@description('Resource id of the node subnet (VNet in this resource group).')
param subnetId string

@description('Resource id of the Log Analytics workspace that receives the control-plane logs.')
param logAnalyticsWorkspaceId string

@description('Name of the container registry (same resource group) the nodes pull from; gets AcrPull for the kubelet identity.')
param registryName string

@description('VM size of the system pool.')
param systemVmSize string = 'Standard_D4ds_v5'

@description('VM size of the projecta pool.')
param projectaVmSize string = 'Standard_D2ds_v5'

@description('VM size of the gpu pool (NVIDIA T4 by default).')
param gpuVmSize string = 'Standard_NC4as_T4_v3'

@minValue(1)
@maxValue(10)
@description('Most nodes of the gpu pool.')
param gpuMaxCount int = 1

@description('Private API server; the Function App then needs Elastic Premium with VNet integration or run-command access.')
param enablePrivateCluster bool = false

@description('Object id of the operator running azd: gets Azure Kubernetes Service RBAC Cluster Admin and Cluster User on this cluster to apply manifests/. Empty: no grant.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal in operatorPrincipalId.')
param operatorPrincipalType string = 'User'

// Network Contributor: the control plane joins nodes and load balancers to our own subnet.
var networkContributor = '4d97b98b-1d4f-4787-a291-c67834d212e7'
// AcrPull: kubelets pull images from the private registry.
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'
// Azure Kubernetes Service RBAC Cluster Admin: the operator applies manifests/ (namespaces, RBAC).
var aksRbacClusterAdmin = 'b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b'
// Azure Kubernetes Service Cluster User Role: the operator fetches a kubeconfig (az aks get-credentials).
var aksClusterUser = '4abbcc35-e782-43d8-92c5-2d3f1bd2253f'
var operatorRoles = empty(operatorPrincipalId) ? [] : [
  aksRbacClusterAdmin
  aksClusterUser
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' existing = {
  name: split(subnetId, '/')[8]
}

resource subnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: split(subnetId, '/')[10]
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource controlPlane 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}'
  location: location
  tags: tags
}

resource subnetJoin 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subnetId, controlPlane.id, networkContributor)
  scope: subnet
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', networkContributor)
    principalId: controlPlane.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource cluster 'Microsoft.ContainerService/managedClusters@2024-09-01' = {
  name: name
  location: location
  tags: tags
  dependsOn: [
    subnetJoin
  ]
  sku: {
    name: 'Base'
    tier: 'Standard'
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${controlPlane.id}': {}
    }
  }
  properties: {
    dnsPrefix: name
    kubernetesVersion: empty(kubernetesVersion) ? null : kubernetesVersion
    enableRBAC: true
    // Entra ID only: every caller, the app included, is authorized by Azure RBAC or Kubernetes RBAC.
    disableLocalAccounts: true
    aadProfile: {
      managed: true
      enableAzureRBAC: true
      tenantID: tenant().tenantId
    }
    networkProfile: {
      networkPlugin: 'azure'
      networkPluginMode: 'overlay'
      networkDataplane: 'cilium'
      networkPolicy: 'cilium'
      podCidr: '192.168.0.0/16'
      serviceCidr: '172.16.0.0/16'
      dnsServiceIP: '172.16.0.10'
      loadBalancerSku: 'standard'
      outboundType: 'loadBalancer'
    }
    apiServerAccessProfile: {
      enablePrivateCluster: enablePrivateCluster
    }
    oidcIssuerProfile: {
      enabled: true
    }
    securityProfile: {
      workloadIdentity: {
        enabled: true
      }
    }
    autoUpgradeProfile: {
      upgradeChannel: 'patch'
      nodeOSUpgradeChannel: 'NodeImage'
    }
    addonProfiles: {
      azureKeyvaultSecretsProvider: {
        enabled: true
        config: {
          enableSecretRotation: 'true'
        }
      }
    }
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        vmSize: systemVmSize
        osType: 'Linux'
        type: 'VirtualMachineScaleSets'
        vnetSubnetID: subnetId
        count: 1
        enableAutoScaling: true
        minCount: 1
        maxCount: 3
        // Not tainted CriticalAddonsOnly on purpose: when every user pool is at zero, the system pool
        // is the only place left for the run-command pod that scales them back up.
      }
      {
        name: 'projecta'
        mode: 'User'
        vmSize: projectaVmSize
        osType: 'Linux'
        type: 'VirtualMachineScaleSets'
        vnetSubnetID: subnetId
        count: 1
        enableAutoScaling: true
        minCount: 0
        maxCount: 3
        nodeLabels: {
          'aks-hours.io/project': 'project-a'
        }
      }
      {
        name: 'gpu'
        mode: 'User'
        vmSize: gpuVmSize
        osType: 'Linux'
        osSKU: 'Ubuntu'
        type: 'VirtualMachineScaleSets'
        vnetSubnetID: subnetId
        // Starts empty: the autoscaler adds the node when the Triton pod is pending.
        count: 0
        enableAutoScaling: true
        minCount: 0
        maxCount: gpuMaxCount
        nodeTaints: [
          'sku=gpu:NoSchedule'
        ]
        nodeLabels: {
          accelerator: 'nvidia'
          'aks-hours.io/project': 'project-b'
        }
      }
    ]
  }
}

// Control-plane logs: the cluster autoscaler's decisions (nodes added/removed around the schedule)
// and admin audit events (who scaled what), next to the app's own telemetry.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'aks-hours'
  scope: cluster
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'cluster-autoscaler'
        enabled: true
      }
      {
        category: 'kube-audit-admin'
        enabled: true
      }
    ]
  }
}

resource kubeletAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, cluster.id, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: cluster.properties.identityProfile.kubeletidentity.objectId
    principalType: 'ServicePrincipal'
  }
}

resource operatorAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in operatorRoles: {
  name: guid(cluster.id, operatorPrincipalId, roleId)
  scope: cluster
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}]

output id string = cluster.id
output name string = cluster.name
output controlPlaneFqdn string = enablePrivateCluster ? cluster.properties.privateFQDN : cluster.properties.fqdn
output kubeletObjectId string = cluster.properties.identityProfile.kubeletidentity.objectId
