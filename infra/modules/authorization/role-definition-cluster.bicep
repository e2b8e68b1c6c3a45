// Least-privilege custom roles for the aks-hours app, created in a resource group that holds managed
// clusters and assignable only there. Nothing here grants anything: role-assignment-cluster.bicep does.

@description('Name of the azd environment; makes the role names unique in the tenant.')
param environmentName string

// Control plane (ARM), assigned at the cluster's scope. Each action is one call the app makes:
var clusterScalerActions = [
  // GET managedClusters/{c}: API server FQDN, power state, which pools exist (readiness, status page).
  'Microsoft.ContainerService/managedClusters/read'
  // GET/LIST agentPools: observe count, autoscaler, min/max, power state, tags, provisioningState.
  'Microsoft.ContainerService/managedClusters/agentPools/read'
  // PUT agentPools/{p}: scale to 0 / stop and restore, writing the original size into tags.
  'Microsoft.ContainerService/managedClusters/agentPools/write'
  // POST listClusterUserCredential: API server address and CA for Access=api (no secrets on Entra clusters).
  'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action'
  // POST runCommand: Access=run-command, one read and one write script per cluster and tick.
  'Microsoft.ContainerService/managedClusters/runCommand/action'
  // GET commandResults/{id}: poll the run-command result.
  'Microsoft.ContainerService/managedClusters/commandResults/read'
]

// Azure RBAC for Kubernetes data actions (read = get/list/watch, write = create/update/patch),
// assigned at the managed namespaces' scope. Each pair is one kind the app scales or holds down:
var workloadScalerDataActions = [
  // Deployments: list, PATCH replicas + original-replicas annotation.
  'Microsoft.ContainerService/managedClusters/apps/deployments/read'
  'Microsoft.ContainerService/managedClusters/apps/deployments/write'
  // StatefulSets: same as Deployments.
  'Microsoft.ContainerService/managedClusters/apps/statefulsets/read'
  'Microsoft.ContainerService/managedClusters/apps/statefulsets/write'
  // HPAs targeting a managed workload: hold minReplicas down, restore it.
  'Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/read'
  'Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/write'
  // CronJobs: spec.suspend during downtime.
  'Microsoft.ContainerService/managedClusters/batch/cronjobs/read'
  'Microsoft.ContainerService/managedClusters/batch/cronjobs/write'
  // Jobs: only listed, to report Jobs still running when a project goes down.
  'Microsoft.ContainerService/managedClusters/batch/jobs/read'
  // KEDA ScaledObjects: the paused-replicas annotation (CRD; see docs/deploy.md on what is unconfirmed).
  'Microsoft.ContainerService/managedClusters/keda.sh/scaledobjects/read'
  'Microsoft.ContainerService/managedClusters/keda.sh/scaledobjects/write'
]

// Cluster-wide read of the same kinds: one list across all namespaces is one call however many
// namespaces a cluster's projects use (the run-command read script does exactly that).
var workloadListerDataActions = [
  'Microsoft.ContainerService/managedClusters/apps/deployments/read'
  'Microsoft.ContainerService/managedClusters/apps/statefulsets/read'
  'Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/read'
  'Microsoft.ContainerService/managedClusters/batch/cronjobs/read'
  'Microsoft.ContainerService/managedClusters/batch/jobs/read'
  'Microsoft.ContainerService/managedClusters/keda.sh/scaledobjects/read'
]

var roles = [
  {
    key: 'cluster-scaler'
    roleName: 'aks-hours cluster scaler (${environmentName}, ${resourceGroup().name})'
    description: 'aks-hours: read and scale AKS agent pools, get the user kubeconfig, run commands. Assign at cluster scope.'
    actions: clusterScalerActions
    dataActions: []
  }
  {
    key: 'workload-scaler'
    roleName: 'aks-hours workload scaler (${environmentName}, ${resourceGroup().name})'
    description: 'aks-hours: read and patch Deployments, StatefulSets, HPAs, CronJobs, ScaledObjects; list Jobs. Assign at namespace scope.'
    actions: []
    dataActions: workloadScalerDataActions
  }
  {
    key: 'workload-lister'
    roleName: 'aks-hours workload lister (${environmentName}, ${resourceGroup().name})'
    description: 'aks-hours: read the kinds aks-hours manages in every namespace (one list call per kind). Assign at cluster scope.'
    actions: []
    dataActions: workloadListerDataActions
  }
]

resource definitions 'Microsoft.Authorization/roleDefinitions@2022-04-01' = [for role in roles: {
  name: guid(resourceGroup().id, environmentName, role.key)
  properties: {
    roleName: role.roleName
    description: role.description
    type: 'customRole'
    permissions: [
      {
        actions: role.actions
        notActions: []
        dataActions: role.dataActions
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}]

// Role assignments want the subscription-level form of a custom role's id.
output clusterScalerRoleId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', definitions[0].name)
output workloadScalerRoleId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', definitions[1].name)
output workloadListerRoleId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', definitions[2].name)
