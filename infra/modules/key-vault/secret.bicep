// One Key Vault secret plus read access to it (and only it) for one identity.

@description('Name of the existing Key Vault (same resource group).')
param vaultName string

@description('Name of the secret.')
param secretName string

@secure()
@description('Value of the secret; never output, never written to app settings.')
param secretValue string

@description('Object id of the identity that resolves the Key Vault reference (gets Key Vault Secrets User on this secret only).')
param readerPrincipalId string

// Key Vault Secrets User: read secret contents (what a Key Vault reference needs).
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretName
  properties: {
    value: secretValue
    contentType: 'text/plain'
  }
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(secret.id, readerPrincipalId, keyVaultSecretsUser)
  scope: secret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The version-less URI: a Key Vault reference built on it follows rotations.
output secretUri string = secret.properties.secretUri
output name string = secret.name
