// Data-plane roles on the app's storage account only (never the resource group or subscription).

@description('Name of the app\'s storage account (same resource group).')
param storageAccountName string

@description('Object id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Object id of the operator running azd (loads schedules, reads audit rows from a laptop). Empty: no grant.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal in operatorPrincipalId.')
param operatorPrincipalType string = 'User'

// Built-in role definition ids (see tests/test_infra.py for the table and its sources).
// Storage Table Data Contributor: read/write the Projects, Overrides and Audit rows.
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Storage Queue Data Contributor: the fan-out queue and the host's queue-trigger bookkeeping.
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Blob Data Owner: the Functions host keeps its locks (timer singleton), keys and the Flex
// deployment package in blobs; Microsoft documents Owner for identity-based AzureWebJobsStorage.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

var appRoles = [
  storageTableDataContributor
  storageQueueDataContributor
  storageBlobDataOwner
]
// The operator only needs rows: schedules import/export, overrides, audit.
var operatorRoles = empty(operatorPrincipalId) ? [] : [
  storageTableDataContributor
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in appRoles: {
  name: guid(account.id, appPrincipalId, roleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource operatorAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in operatorRoles: {
  name: guid(account.id, operatorPrincipalId, roleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}]
