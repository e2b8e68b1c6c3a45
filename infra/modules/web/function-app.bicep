// The aks-hours Function App (Python 3.11, Linux) running as the user-assigned identity.
// App settings carry no secret: storage is identity-based and the API key is a Key Vault reference.

@description('Name of the Function App (globally unique host name).')
param name string

@description('Azure region of the Function App.')
param location string

@description('Tags applied to the Function App; must include azd-service-name so that azd deploys to it.')
param tags object

@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
@description('Hosting plan kind of planId: FlexConsumption (FC1) or ElasticPremium (EP1).')
param hostingPlan string

@description('Resource id of the App Service plan.')
param planId string

@description('Resource id of the app\'s user-assigned identity.')
param identityId string

@description('Client id of the app\'s user-assigned identity (AZURE_CLIENT_ID and the host\'s storage credential).')
param identityClientId string

@description('Name of the storage account for host storage, tables and queues (identity-based).')
param storageAccountName string

@description('Blob endpoint of that storage account (Flex deployment container URL).')
param storageBlobEndpoint string

@description('Blob container holding the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (not a secret: local auth is disabled on the component).')
param appInsightsConnectionString string

@description('Subnet for regional VNet integration (Elastic Premium); empty: no VNet integration.')
param subnetId string = ''

@description('App-specific settings (SCALING_*); must not hold secrets.')
param appSettings object

@description('Version-less Key Vault secret URI of the reference-API key; empty: SCALING_API_KEY is not set.')
param apiKeySecretUri string = ''

@minValue(40)
@maxValue(1000)
@description('Flex Consumption only: most instances the app may scale out to.')
param maximumInstanceCount int = 40

@allowed([
  2048
  4096
])
@description('Flex Consumption only: memory per instance in MB.')
param instanceMemoryMB int = 2048

var isFlex = hostingPlan == 'FlexConsumption'

var identitySettings = {
  // Host storage through the managed identity: no AzureWebJobsStorage connection string exists.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // DefaultAzureCredential in the app picks the user-assigned identity by this client id.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  // Telemetry is sent with the identity's Entra token (the component has local auth disabled).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}
var apiKeySettings = empty(apiKeySecretUri) ? {} : {
  SCALING_API_KEY: '@Microsoft.KeyVault(SecretUri=${apiKeySecretUri})'
}
// Flex Consumption sets runtime and version in functionAppConfig and rejects these as app settings.
var classicSettings = isFlex ? {} : {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'python'
  SCM_DO_BUILD_DURING_DEPLOYMENT: 'true'
  ENABLE_ORYX_BUILD: 'true'
}
var allSettings = union(appSettings, identitySettings, apiKeySettings, classicSettings)

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: planId
    reserved: true
    httpsOnly: true
    // Key Vault references are resolved with the user-assigned identity, not a system identity.
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    // Route all outbound traffic through the VNet so private clusters' API servers resolve and connect.
    vnetRouteAllEnabled: !empty(subnetId)
    functionAppConfig: isFlex ? {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    } : null
    siteConfig: {
      linuxFxVersion: isFlex ? null : 'Python|3.11'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(allSettings): {
        name: setting.key
        value: setting.value
      }]
    }
  }
}

output id string = site.id
output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
output settingNames array = [for setting in items(allSettings): setting.key]
