// Key Vault (RBAC) for the app's secrets. The Function App reads them through Key Vault
// references in its app settings, with its managed identity (Key Vault Secrets User,
// access.bicep); nobody puts a secret in an app setting.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Key Vault name (3-24 letters, digits and hyphens).')
param name string

@description('Secrets to store: name -> value. Empty values are left out (and so is their app setting).')
@secure()
param secrets object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for item in items(secrets): if (!empty(item.value)) {
    parent: vault
    name: item.key
    properties: {
      value: item.value
      contentType: 'text/plain'
    }
  }
]

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
