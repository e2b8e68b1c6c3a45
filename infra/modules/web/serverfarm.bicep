// The Functions plan: Flex Consumption (FC1) by default, Elastic Premium (EP1) when VNet access is needed.

@description('Name of the App Service plan.')
param name string

@description('Azure region of the plan.')
param location string

@description('Tags applied to the plan.')
param tags object

@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
@description('FlexConsumption (FC1) or ElasticPremium (EP1).')
param hostingPlan string

@minValue(1)
@maxValue(100)
@description('Elastic Premium only: most instances the plan may scale out to.')
param maximumElasticWorkerCount int = 10

var isFlex = hostingPlan == 'FlexConsumption'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex ? {
    name: 'FC1'
    tier: 'FlexConsumption'
  } : {
    name: 'EP1'
    tier: 'ElasticPremium'
    family: 'EP'
  }
  properties: {
    // Linux.
    reserved: true
    maximumElasticWorkerCount: isFlex ? null : maximumElasticWorkerCount
  }
}

output id string = plan.id
output name string = plan.name
