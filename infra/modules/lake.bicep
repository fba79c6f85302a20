// The data lake: an ADLS Gen2 account (hierarchical namespace) with
// - the lake container (LAKE_CONTAINER): raw snapshots, reconciliation reports and the
//   app's own dead letters under deadletter/...;
// - the Event Grid dead-letter container: events Event Grid could not deliver after its
//   retries;
// - the support audit container (SUPPORT_AUDIT_CONTAINER): append blobs under a time-based
//   retention policy that still allows appends (WORM: nothing written can change or go).

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Storage account name (3-24 lower-case letters and digits).')
param name string

@description('Container of the raw zone (the app reads it as LAKE_CONTAINER).')
param lakeContainer string

@description('Container of the support audit log (the app reads it as SUPPORT_AUDIT_CONTAINER).')
param auditContainer string

@description('Container Event Grid dead-letters undeliverable events to.')
param deadLetterContainer string

@description('Days each audit blob is kept unchangeable. The policy starts unlocked: lock it by hand once the period is right (README, step by step).')
@minValue(1)
@maxValue(146000)
param auditRetentionDays int

@description('The audit retention policy has been locked (README step 6). A locked policy only accepts extend, never create-or-update, so the template then leaves it alone.')
param auditRetentionLocked bool

@description('Private-network variant: public network access off, reached through private endpoints.')
param privateNetworking bool

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    // Geo-zone-redundant: the audit log and the raw snapshots are records worth keeping
    // through the loss of a region.
    name: 'Standard_GZRS'
  }
  properties: {
    accessTier: 'Hot'
    isHnsEnabled: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Private variant: the firewall denies everything but the private endpoints and trusted
    // Azure services: Event Grid dead-letters here with its topics' identities as a trusted
    // service, which storage only honours while public network access is Enabled (Disabled
    // would refuse the trusted services too), so it stays Enabled behind a Deny firewall.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 14
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 14
    }
  }
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource lake 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: lakeContainer
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deadLetterContainer
  properties: {
    publicAccess: 'None'
  }
}

resource audit 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: auditContainer
  properties: {
    publicAccess: 'None'
  }
}

// Sent until the policy is locked; after that a provision leaves it as it is (a longer period
// is `az storage container immutability-policy extend`).
resource auditRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!auditRetentionLocked) {
  parent: audit
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditRetentionDays
    // The audit log is append blobs: new entries are appended, nothing is overwritten or
    // deleted.
    allowProtectedAppendWrites: true
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deadLetterContainer string = deadLetters.name
