// Cosmos DB for NoSQL: the unified profile store. Serverless unless a throughput is given;
// key (local) auth off, so the app reaches it with its managed identity only.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Cosmos DB account name (3-44 lower-case letters, digits and hyphens).')
param name string

@description('Database name (the app reads it as PROFILE_STORE_COSMOS_DATABASE).')
param databaseName string

@description('Container name (the app reads it as PROFILE_STORE_COSMOS_CONTAINER).')
param containerName string

@description('0: serverless (pay per request). Otherwise the autoscale maximum RU/s of the container (at least 1000, in steps of 1000; main.bicep lists the values).')
@minValue(0)
param throughput int = 0

@description('Private-network variant: public network access off, reached through private endpoints.')
param privateNetworking bool

var serverless = throughput == 0

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: serverless ? [{ name: 'EnableServerless' }] : []
    // One region, one write region (checkov's CKV_AZURE_99 reads only this; the network
    // restriction is CKV_AZURE_101's, per variant).
    enableMultipleWriteLocations: false
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous7Days'
      }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: {
        paths: ['/sf_account_id']
        kind: 'Hash'
      }
    }
    options: serverless ? {} : { autoscaleSettings: { maxThroughput: throughput } }
  }
}

output id string = account.id
output name string = account.name
output endpoint string = account.properties.documentEndpoint
