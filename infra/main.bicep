// aks-hours: one `azd up` from nothing to a working setup.
// Subscription scope only so that azd can create the resource group; every role assignment below
// lands on a resource (storage account, secret, cluster, namespace), never on the subscription.
targetScope = 'subscription'

@minLength(1)
@maxLength(48)
@description('Name of the azd environment; names the resource group and is tagged on every resource (azd-env-name).')
param environmentName string

@minLength(1)
@description('Azure region for every resource of this deployment.')
param location string

@description('Object id of the person or pipeline running azd (azd sets AZURE_PRINCIPAL_ID). Gets table access for `python -m scaling schedules import` and admin rights on the demo cluster. Empty: no such grants.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal in principalId: User for a person, ServicePrincipal for a CI pipeline.')
param principalType string = 'User'

@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
@description('Function App hosting: FlexConsumption (FC1, default, cheapest) or ElasticPremium (EP1, with VNet integration so the app reaches private clusters).')
param hostingPlan string = 'FlexConsumption'

@description('Create the demo AKS cluster (system, projecta and gpu pools, ACR and Key Vault behind private endpoints). False: only manage the clusters in targetClusterIds.')
param createDemoCluster bool = true

@description('Resource ids of existing AKS clusters the app manages (any resource group or subscription of this tenant). The app identity gets the least-privilege roles on each.')
param targetClusterIds array = []

@description('Kubernetes namespaces the app manages on every cluster; the Kubernetes data role is assigned at these namespaces\' scope.')
param managedNamespaces array = [
  'project-a'
  'project-b'
  'nightly-batch'
]

@allowed([
  'custom'
  'builtin-writer'
  'none'
])
@description('How the app identity may touch Kubernetes objects through Azure RBAC for Kubernetes: custom (narrow data-action role, default), builtin-writer (Azure Kubernetes Service RBAC Writer) or none (use the Kubernetes Role/RoleBinding in manifests/rbac instead).')
param kubernetesDataRole string = 'custom'

@allowed([
  'namespace'
  'cluster'
])
@description('Scope of the Kubernetes data role: namespace (each managed namespace, least privilege) or cluster (fallback if namespace-scoped assignments cannot be created by ARM in your tenant).')
param kubernetesDataRoleScope string = 'namespace'

@description('Also grant read (get/list) of the managed kinds cluster-wide: the run-command read script lists all namespaces at once when a cluster has two or more managed namespaces.')
param grantClusterWideList bool = true

@secure()
@description('Optional bearer key for the reference Scale API (X-API-Key / Authorization: Bearer). Stored in Key Vault; the app gets a Key Vault reference, never the value. Empty: the key is not configured.')
param scalingApiKey string = ''

@allowed([
  'in-process'
  'queue'
])
@description('SCALING_FANOUT: in-process reconciles every cluster in the timer run; queue sends one Storage Queue message per cluster.')
param scalingFanout string = 'in-process'

@description('SCALING_TIMER: NCRONTAB schedule (6 fields, UTC) of the reconcile timer.')
param scalingTimer string = '0 */5 * * * *'

@minValue(1)
@maxValue(10000)
@description('SCALING_MAX_REPLICAS: largest replica count the HTTP API accepts.')
param scalingMaxReplicas int = 50

@minValue(1)
@maxValue(8760)
@description('SCALING_MAX_OVERRIDE_HOURS: longest manual override the HTTP API accepts.')
param scalingMaxOverrideHours int = 72

@description('SCALING_DRY_RUN: plan and audit, but change nothing on any cluster. Useful for the first days.')
param scalingDryRun bool = false

@description('Kubernetes version of the demo cluster; empty picks the AKS default.')
param kubernetesVersion string = ''

@description('VM size of the demo cluster\'s GPU pool.')
param gpuVmSize string = 'Standard_NC4as_T4_v3'

@description('Address space of the VNet (created with the demo cluster or for Elastic Premium VNet integration).')
param vnetAddressPrefix string = '10.40.0.0/16'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  'app': 'aks-hours'
}
var resourceGroupName = '${abbrs.resourcesResourceGroups}${environmentName}'
var useVnet = createDemoCluster || hostingPlan == 'ElasticPremium'
var demoClusterName = '${abbrs.containerServiceManagedClusters}${resourceToken}'
// Known before deployment (no runtime value), so it can drive the role-assignment loops below.
var demoClusterId = '/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${demoClusterName}'
var allClusterIds = union(targetClusterIds, createDemoCluster ? [demoClusterId] : [])
// One custom role definition per resource group holding clusters (union() removes duplicates).
var clusterGroupKeys = map(allClusterIds, id => toLower('${split(id, '/')[2]}/${split(id, '/')[4]}'))
var clusterResourceGroups = union(clusterGroupKeys, [])
// For each cluster, the index of its resource group's role definitions in clusterRoles.
var clusterRoleIndex = map(clusterGroupKeys, key => indexOf(clusterResourceGroups, key))
var queueName = 'aks-hours-clusters'
var tableNames = [
  'Projects'
  'Overrides'
  'Audit'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/managed-identity/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module logAnalytics 'modules/operational-insights/workspace.bicep' = {
  name: 'log-analytics'
  scope: rg
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
  }
}

module appInsights 'modules/insights/component.bicep' = {
  name: 'app-insights'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceId: logAnalytics.outputs.id
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    tableNames: tableNames
    queueNames: [
      queueName
    ]
    deploymentContainerName: 'app-package'
  }
}

module storageAccess 'modules/authorization/role-assignment-storage.bicep' = {
  name: 'storage-access'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module appVault 'modules/key-vault/vault.bicep' = {
  name: 'app-vault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    // The platform resolves Key Vault references from outside any VNet on Flex Consumption.
    publicNetworkAccess: 'Enabled'
  }
}

module apiKeySecret 'modules/key-vault/secret.bicep' = if (!empty(scalingApiKey)) {
  name: 'api-key-secret'
  scope: rg
  params: {
    vaultName: appVault.outputs.name
    secretName: 'scaling-api-key'
    secretValue: scalingApiKey
    readerPrincipalId: identity.outputs.principalId
  }
}

module network 'modules/network/virtual-network.bicep' = if (useVnet) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
  }
}

module plan 'modules/web/serverfarm.bicep' = {
  name: 'plan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    hostingPlan: hostingPlan
  }
}

module functionApp 'modules/web/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  // The host needs its storage roles before it starts, or the first start fails to take its locks.
  dependsOn: [
    storageAccess
    apiKeySecret
  ]
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    hostingPlan: hostingPlan
    planId: plan.outputs.id
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: 'app-package'
    appInsightsConnectionString: appInsights.outputs.connectionString
    subnetId: hostingPlan == 'ElasticPremium' ? network.outputs.functionSubnetId : ''
    appSettings: {
      SCALING_STORAGE_ACCOUNT_URL: storage.outputs.tableEndpoint
      SCALING_TIMER: scalingTimer
      SCALING_FANOUT: scalingFanout
      SCALING_QUEUE_NAME: queueName
      SCALING_MAX_REPLICAS: string(scalingMaxReplicas)
      SCALING_MAX_OVERRIDE_HOURS: string(scalingMaxOverrideHours)
      SCALING_DRY_RUN: scalingDryRun ? 'true' : 'false'
    }
    apiKeySecretUri: empty(scalingApiKey) ? '' : apiKeySecret.outputs.secretUri
  }
}

module demo 'modules/ptn/demo-cluster.bicep' = if (createDemoCluster) {
  name: 'demo-environment'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    clusterName: demoClusterName
    kubernetesVersion: kubernetesVersion
    gpuVmSize: gpuVmSize
    aksSubnetId: network.outputs.aksSubnetId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    vnetId: network.outputs.id
    logAnalyticsWorkspaceId: logAnalytics.outputs.id
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

// Custom roles are created in each resource group that holds a managed cluster, assignable there only.
module clusterRoles 'modules/authorization/role-definition-cluster.bicep' = [for group in clusterResourceGroups: {
  name: 'aks-hours-roles-${uniqueString(group)}'
  scope: resourceGroup(split(group, '/')[0], split(group, '/')[1])
  // The demo cluster's group is created above; a scope built from strings carries no dependency.
  dependsOn: [
    rg
  ]
  params: {
    environmentName: environmentName
  }
}]

// Cross-resource-group clusters: the module is deployed into the cluster's own resource group.
module clusterAccess 'modules/authorization/role-assignment-cluster.bicep' = [for (clusterId, i) in allClusterIds: {
  name: 'aks-hours-access-${uniqueString(clusterId)}'
  scope: resourceGroup(split(clusterId, '/')[2], split(clusterId, '/')[4])
  dependsOn: [
    demo
  ]
  params: {
    clusterName: split(clusterId, '/')[8]
    appPrincipalId: identity.outputs.principalId
    managedNamespaces: managedNamespaces
    clusterScalerRoleId: clusterRoles[clusterRoleIndex[i]].outputs.clusterScalerRoleId
    workloadScalerRoleId: clusterRoles[clusterRoleIndex[i]].outputs.workloadScalerRoleId
    workloadListerRoleId: clusterRoles[clusterRoleIndex[i]].outputs.workloadListerRoleId
    kubernetesDataRole: kubernetesDataRole
    kubernetesDataRoleScope: kubernetesDataRoleScope
    grantClusterWideList: grantClusterWideList
  }
}]

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output SCALING_STORAGE_ACCOUNT_URL string = storage.outputs.tableEndpoint
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = appVault.outputs.name
output APP_CLIENT_ID string = identity.outputs.clientId
// The object id is what Kubernetes RBAC sees as the user name of the app (manifests/rbac).
output APP_PRINCIPAL_ID string = identity.outputs.principalId
output AKS_CLUSTER_NAME string = createDemoCluster ? demoClusterName : ''
output AKS_CLUSTER_ID string = createDemoCluster ? demoClusterId : ''
output AZURE_CONTAINER_REGISTRY_NAME string = createDemoCluster ? demo.outputs.registryName : ''
output MANAGED_CLUSTER_IDS array = allClusterIds
