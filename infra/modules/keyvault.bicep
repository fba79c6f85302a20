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

@description('Private-network variant: public network access off, reached through private endpoints.')
param privateNetworking bool

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
    // Private variant: Key Vault references resolve through the app's VNet integration (Flex
    // Consumption routes all outbound traffic into the network) and the private endpoint;
    // the template's secrets are written through Azure Resource Manager, not the data plane.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
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
