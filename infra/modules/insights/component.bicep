// Application Insights for the Function App, Entra-only ingestion (no instrumentation-key writes).

@description('Name of the Application Insights component.')
param name string

@description('Azure region of the component.')
param location string

@description('Tags applied to the component.')
param tags object

@description('Resource id of the Log Analytics workspace that stores the telemetry.')
param workspaceId string

@description('Object id of the identity that sends telemetry; gets Monitoring Metrics Publisher on this component only.')
param publisherPrincipalId string

// Monitoring Metrics Publisher: the data action to ingest telemetry with an Entra token.
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource component 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceId
    // Local auth off: telemetry must be sent with the app identity's token.
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(component.id, publisherPrincipalId, monitoringMetricsPublisher)
  scope: component
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = component.id
output name string = component.name
// Not a secret: with local auth disabled it only says where to send telemetry.
output connectionString string = component.properties.ConnectionString
