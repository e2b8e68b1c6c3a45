// The app identity's rights on one AKS cluster, deployed into the cluster's own resource group:
// the control-plane role at cluster scope, the Kubernetes data role at each managed namespace,
// and (optionally) cluster-wide read of the managed kinds. Nothing at resource-group or wider scope.

@description('Name of the AKS cluster (in this module\'s resource group).')
param clusterName string

@description('Object id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Kubernetes namespaces the app manages on this cluster.')
param managedNamespaces array

@description('Role definition id of the aks-hours cluster scaler role (role-definition-cluster.bicep).')
param clusterScalerRoleId string

@description('Role definition id of the aks-hours workload scaler role.')
param workloadScalerRoleId string

@description('Role definition id of the aks-hours workload lister role.')
param workloadListerRoleId string

@allowed([
  'custom'
  'builtin-writer'
  'none'
])
@description('Kubernetes data role: custom (workload scaler), builtin-writer (Azure Kubernetes Service RBAC Writer) or none (Kubernetes RBAC from manifests/rbac).')
param kubernetesDataRole string = 'custom'

@allowed([
  'namespace'
  'cluster'
])
@description('Scope of the Kubernetes data role: each managed namespace, or the whole cluster.')
param kubernetesDataRoleScope string = 'namespace'

@description('Grant cluster-wide read of the managed kinds (needed when one list spans several namespaces).')
param grantClusterWideList bool = true

// Azure Kubernetes Service RBAC Writer (built-in), the broader alternative to the custom data role.
var aksRbacWriter = 'a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb'
var dataRoleId = kubernetesDataRole == 'builtin-writer' ? subscriptionResourceId('Microsoft.Authorization/roleDefinitions', aksRbacWriter) : workloadScalerRoleId
var namespaceAssignments = kubernetesDataRole != 'none' && kubernetesDataRoleScope == 'namespace' ? managedNamespaces : []
var clusterDataAssignment = kubernetesDataRole != 'none' && kubernetesDataRoleScope == 'cluster'
var clusterListAssignment = kubernetesDataRole != 'none' && grantClusterWideList

resource cluster 'Microsoft.ContainerService/managedClusters@2024-09-01' existing = {
  name: clusterName
}

// A Kubernetes namespace is not an ARM resource, but Azure RBAC for Kubernetes accepts role
// assignments at "<clusterId>/namespaces/<name>" (what `az role assignment create --scope` uses).
// Declaring it `existing` only builds that scope; ARM never reads it.
resource namespaces 'Microsoft.ContainerService/managedClusters/namespaces@2024-09-01' existing = [for namespace in namespaceAssignments: {
  parent: cluster
  name: namespace
}]

resource clusterScaler 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(cluster.id, appPrincipalId, 'cluster-scaler')
  scope: cluster
  properties: {
    roleDefinitionId: clusterScalerRoleId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aks-hours: agent pools, user kubeconfig, run-command on this cluster'
  }
}

resource namespaceScaler 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (namespace, i) in namespaceAssignments: {
  name: guid(cluster.id, namespace, appPrincipalId, kubernetesDataRole)
  scope: namespaces[i]
  properties: {
    roleDefinitionId: dataRoleId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aks-hours: scale workloads in namespace ${namespace}'
  }
}]

resource clusterDataScaler 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (clusterDataAssignment) {
  name: guid(cluster.id, appPrincipalId, kubernetesDataRole, 'cluster-wide')
  scope: cluster
  properties: {
    roleDefinitionId: dataRoleId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aks-hours: scale workloads in every namespace (fallback scope)'
  }
}

resource clusterLister 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (clusterListAssignment) {
  name: guid(cluster.id, appPrincipalId, 'workload-lister')
  scope: cluster
  properties: {
    roleDefinitionId: workloadListerRoleId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'aks-hours: one list per kind across namespaces'
  }
}

output clusterId string = cluster.id
output namespaceScopes array = [for (namespace, i) in namespaceAssignments: namespaces[i].id]
