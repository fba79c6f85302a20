// Crosswalk on Azure: `azd up` provisions this, then deploys the app to the Function App.
// One module per concern (modules/); this file only wires them together and assembles the
// Function App's settings, which tests/infra checks against crosswalk/settings/: every
// setting the app requires is set here, and every name set here is one the app (or its
// host) reads.
//
// A concern is one module that takes what it needs from the others' outputs (API Management
// takes functionApp.outputs.hostName) and adds its own outputs at the end.

targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name: prefixes the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('Azure region of every resource.')
param location string

@description('Durable Functions backend: Azure Storage (in the host storage account, the default) or the Durable Task Scheduler (a managed service with a dashboard, for higher throughput).')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler SKU, with durableBackend = DurableTaskScheduler.')
@allowed(['Consumption', 'Dedicated'])
param schedulerSku string = 'Consumption'

@description('Capacity units of a Dedicated Durable Task Scheduler (each a fixed monthly price).')
@minValue(1)
param schedulerCapacity int = 1

@description('Cosmos DB throughput: 0 is serverless (pay per request); otherwise the container\'s autoscale maximum RU/s (at least 1000, in steps of 1000). Fixed at the first provision: Cosmos DB switches an account neither way (azure.yaml\'s preprovision hook refuses).')
@allowed([0, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 20000, 50000, 100000])
param cosmosThroughput int = 0

@description('Most instances the Function App scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Function App instance, MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Private-network variant: a virtual network with the Function App integrated, private endpoints (and private DNS zones) for the host storage, the lake, Cosmos DB and Key Vault with their public network access off, and a NAT gateway with one static outbound address. The Function App itself, Event Grid, Application Insights and API Management stay public (README, "Which variant").')
param privateNetworking bool = false

@description('Private variant with the Durable Task Scheduler: comma-separated address ranges (CIDR, e.g. your office\'s 203.0.113.0/24) that may open the scheduler\'s dashboard besides the NAT gateway\'s address. Ignored without privateNetworking (then everyone may, and sign-in decides).')
param schedulerDashboardAddresses string = ''

@description('Object id of the D2C platform\'s identity that publishes to the D2C topic: the template makes it EventGrid Data Sender there (empty: grant it by hand, README step 4).')
param d2cPublisherPrincipalId string = ''

@description('What kind of principal d2cPublisherPrincipalId is: ServicePrincipal (a managed identity or an app registration), Group or User.')
@allowed(['ServicePrincipal', 'Group', 'User'])
param d2cPublisherPrincipalType string = 'ServicePrincipal'

@description('Spread the Function App over availability zones (region must have them). Keeps at least two always-ready instances per function group, which bills all the time.')
param zoneRedundant bool = false

@description('E-mail address alerts go to (empty: alert rules without a receiver).')
param alertEmail string = ''

@description('Client id of the Entra app registration that signs support staff in (README: Deploying to Azure, step 1).')
@minLength(1)
param authClientId string

@description('The Salesforce org\'s My Domain URL, https://NAME.my.salesforce.com (SALESFORCE_LOGIN_URL): the client credentials flow works only there.')
@minLength(1)
param salesforceLoginUrl string

@description('Salesforce sign-in: client_credentials (the consumer secret) or jwt (JWT bearer, signed with the key from Key Vault).')
@allowed(['client_credentials', 'jwt'])
param salesforceAuthMode string = 'client_credentials'

@description('With jwt: the integration user the JWT names (SALESFORCE_USERNAME).')
param salesforceUsername string = ''

@secure()
@description('With jwt: the connected app certificate\'s PEM private key, base64-encoded (one line, so azd can carry it); stored in Key Vault as salesforce-jwt-key, which the app reads with its identity (SALESFORCE_PRIVATE_KEY_SECRET_URI). A new value is a rotation.')
param salesforcePrivateKeyBase64 string = ''

@description('Salesforce connected app consumer key (SALESFORCE_CLIENT_ID).')
@minLength(1)
param salesforceClientId string

@secure()
@description('Salesforce connected app consumer secret; stored in Key Vault.')
param salesforceClientSecret string

@description('D2C customer API base URL (D2C_BASE_URL).')
@minLength(1)
param d2cBaseUrl string

@secure()
@description('D2C API bearer token; stored in Key Vault.')
param d2cToken string

@secure()
@description('Chat incoming webhook for approvals and undo failures (NOTIFY_WEBHOOK_URL); stored in Key Vault. Empty: log lines only.')
param notifyWebhookUrl string = ''

@description('NCRONTAB schedule of reconciliation runs (RECONCILE_SCHEDULE, six fields, UTC).')
param reconcileSchedule string = '0 0 2 * * *'

@description('NCRONTAB schedule of the curated zone refresh (CURATED_REFRESH_SCHEDULE, six fields, UTC).')
param curatedRefreshSchedule string = '0 */15 * * * *'

@description('NCRONTAB schedule of curated compaction and vacuum (CURATED_COMPACT_SCHEDULE).')
param curatedCompactSchedule string = '0 30 3 * * *'

@description('Days each support audit blob stays unchangeable (WORM).')
@minValue(1)
param auditRetentionDays int = 365

@description('Set once the audit retention policy is locked (README step 6): the template stops sending it, since a locked policy refuses create-or-update.')
param auditRetentionLocked bool = false

@description('Create the Event Grid subscriptions. Off on the first provision (the functions do not exist before the first deploy); azure.yaml\'s postdeploy hook turns it on and provisions again.')
param subscribeEvents bool = false

@description('Application (client) ID of the profile API app registration. Empty: the profile API stays off (503) and no API Management is created.')
param profileApiAudience string = ''

@description('API Management SKU of the profile API gateway (with profileApiAudience).')
@allowed(['Consumption', 'BasicV2', 'StandardV2'])
param apimSku string = 'Consumption'

@description('API Management publisher e-mail, which the service requires: without it no API Management is created (the profile API is still on, without the gateway).')
param apimPublisherEmail string = ''

@description('More app settings, e.g. {"APPROVAL_TIMEOUT_HOURS": "24"}: names from the README\'s configuration table only (tests/infra checks infra/main.parameters.json).')
param extraAppSettings object = {}

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var useScheduler = durableBackend == 'DurableTaskScheduler'
var useJwt = salesforceAuthMode == 'jwt'
// API Management refuses a service without a publisher e-mail. (Compound conditions are
// parenthesised: pycep-parser, checkov's parser, has no operator precedence.)
var useApim = !(empty(profileApiAudience) || empty(apimPublisherEmail))

var names = {
  resourceGroup: 'rg-${environmentName}'
  functionApp: 'func-crosswalk-${token}'
  plan: 'plan-crosswalk-${token}'
  hostStorage: 'st${token}'
  lake: 'stlake${token}'
  cosmos: 'cosmos-crosswalk-${token}'
  keyVault: 'kv-${token}'
  workspace: 'log-crosswalk-${token}'
  appInsights: 'appi-crosswalk-${token}'
  scheduler: 'dts-crosswalk-${token}'
  apim: 'apim-crosswalk-${token}'
  prefix: 'crosswalk-${token}'
}

// The app's defaults (crosswalk/settings/), written out so the resources and the
// settings cannot drift apart.
var profileDatabase = 'crosswalk'
var profileContainer = 'profiles'
var lakeContainer = 'crosswalk-lake'
var auditContainer = 'crosswalk-audit'
var deadLetterContainer = 'eventgrid-deadletter'
// host.json: extensions.durableTask.hubName
var taskHubName = 'crosswalk'

var keyVaultReference = '@Microsoft.KeyVault(VaultName=${names.keyVault};SecretName='

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

// The private-network variant's network and private endpoints (privateNetworking).
module network 'modules/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: names.prefix
  }
}

// Each service's host name resolves through its privatelink zone inside the network.
var storageSuffix = environment().suffixes.storage
var privateZones = [
  'privatelink.blob.${storageSuffix}'
  'privatelink.queue.${storageSuffix}'
  'privatelink.table.${storageSuffix}'
  'privatelink.dfs.${storageSuffix}'
  'privatelink.documents.azure.com'
  'privatelink.vaultcore.azure.net'
]

module privateEndpoints 'modules/private-endpoints.bicep' = if (privateNetworking) {
  name: 'private-endpoints'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: names.prefix
    vnetId: privateNetworking ? network.outputs.id : ''
    subnetId: privateNetworking ? network.outputs.endpointSubnetId : ''
    zones: privateZones
    // zone: index into privateZones. The lake's dfs endpoint serves the Delta table (delta-rs).
    endpoints: [
      { key: 'host-blob', resourceId: hostStorage.outputs.id, groupId: 'blob', zone: 0 }
      { key: 'host-queue', resourceId: hostStorage.outputs.id, groupId: 'queue', zone: 1 }
      { key: 'host-table', resourceId: hostStorage.outputs.id, groupId: 'table', zone: 2 }
      { key: 'lake-blob', resourceId: lake.outputs.id, groupId: 'blob', zone: 0 }
      { key: 'lake-dfs', resourceId: lake.outputs.id, groupId: 'dfs', zone: 3 }
      { key: 'cosmos', resourceId: cosmos.outputs.id, groupId: 'Sql', zone: 4 }
      { key: 'keyvault', resourceId: keyVault.outputs.id, groupId: 'vault', zone: 5 }
    ]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
  }
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.hostStorage
    privateNetworking: privateNetworking
  }
}

module lake 'modules/lake.bicep' = {
  name: 'lake'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.lake
    lakeContainer: lakeContainer
    auditContainer: auditContainer
    deadLetterContainer: deadLetterContainer
    auditRetentionDays: auditRetentionDays
    auditRetentionLocked: auditRetentionLocked
    privateNetworking: privateNetworking
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.cosmos
    databaseName: profileDatabase
    containerName: profileContainer
    throughput: cosmosThroughput
    privateNetworking: privateNetworking
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.keyVault
    secrets: {
      'salesforce-client-secret': salesforceClientSecret
      'd2c-token': d2cToken
      'notify-webhook-url': notifyWebhookUrl
      'salesforce-jwt-key': empty(salesforcePrivateKeyBase64) ? '' : base64ToString(salesforcePrivateKeyBase64)
    }
    privateNetworking: privateNetworking
  }
}

// The private variant's scheduler allow list: the NAT gateway's address, plus the ranges
// people open its dashboard from (Bicep inlines this where it is used, behind the condition).
var dashboardAddresses = empty(schedulerDashboardAddresses) ? [] : split(replace(schedulerDashboardAddresses, ' ', ''), ',')
var schedulerPrivateAllowList = concat(['${network.outputs.outboundIpAddress}/32'], dashboardAddresses)

module scheduler 'modules/durable-scheduler.bicep' = if (useScheduler) {
  name: 'durable-scheduler'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.scheduler
    taskHubName: taskHubName
    sku: schedulerSku
    capacity: schedulerCapacity
    allowedAddresses: privateNetworking ? schedulerPrivateAllowList : ['0.0.0.0/0']
  }
}

// What crosswalk/settings/ reads (and the timer binding's %RECONCILE_SCHEDULE%).
var appSettings = {
  SALESFORCE_LOGIN_URL: salesforceLoginUrl
  SALESFORCE_AUTH_MODE: salesforceAuthMode
  SALESFORCE_CLIENT_ID: salesforceClientId
  SALESFORCE_CLIENT_SECRET: '${keyVaultReference}salesforce-client-secret)'
  D2C_BASE_URL: d2cBaseUrl
  D2C_TOKEN: '${keyVaultReference}d2c-token)'
  PROFILE_STORE_KIND: 'cosmos'
  PROFILE_STORE_COSMOS_ENDPOINT: cosmos.outputs.endpoint
  PROFILE_STORE_COSMOS_DATABASE: profileDatabase
  PROFILE_STORE_COSMOS_CONTAINER: profileContainer
  LAKE_KIND: 'blob'
  LAKE_ACCOUNT_URL: lake.outputs.blobEndpoint
  LAKE_CONTAINER: lakeContainer
  RECONCILE_SCHEDULE: reconcileSchedule
  CURATED_REFRESH_SCHEDULE: curatedRefreshSchedule
  CURATED_COMPACT_SCHEDULE: curatedCompactSchedule
  SUPPORT_AUTH_MODE: 'easyauth'
  SUPPORT_AUDIT_KIND: 'blob'
  SUPPORT_AUDIT_CONTAINER: auditContainer
  NOTIFY_CONSOLE_URL: 'https://${names.functionApp}.azurewebsites.net/api/support/console'
}

// JWT bearer: the key is read by the app itself with its identity (no version: the latest, so
// a rotation is picked up), never put in an app setting or a file.
var jwtSettings = useJwt ? {
  SALESFORCE_USERNAME: salesforceUsername
  SALESFORCE_PRIVATE_KEY_SECRET_URI: '${keyVault.outputs.uri}secrets/salesforce-jwt-key'
} : {}
// The Pub/Sub API relay publishes to the Salesforce topic (modules/events.bicep names it and
// grants the app's identity EventGrid Data Sender there; the endpoint follows Event Grid's
// https://<topic>.<region>-1.eventgrid.azure.net/api/events, written out because the topic
// module depends on the Function App).
var relaySettings = {
  RELAY_ENABLED: 'true'
  RELAY_SCHEDULE: '0 * * * * *'
  RELAY_EVENT_GRID_ENDPOINT: 'https://${names.prefix}-salesforce-events.${location}-1.eventgrid.azure.net/api/events'
}

// Only with a webhook: an unresolved Key Vault reference would reach the app as text.
var notifySettings = empty(notifyWebhookUrl) ? {} : {
  NOTIFY_WEBHOOK_URL: '${keyVaultReference}notify-webhook-url)'
}

// The profile API accepts Entra ID tokens for this tenant and audience (off until both are set).
var profileApiSettings = empty(profileApiAudience) ? {} : {
  PROFILE_API_TENANT_ID: tenant().tenantId
  PROFILE_API_AUDIENCE: profileApiAudience
}

// What the Functions host reads: its storage through the identity, and telemetry (the app
// reads the APPLICATIONINSIGHTS_* settings too; host.json has telemetryMode OpenTelemetry).
var hostSettings = {
  AzureWebJobsStorage__accountName: names.hostStorage
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  // Telemetry with the app's identity (Monitoring Metrics Publisher, access.bicep): the host
  // and the app's distro both read it, so Application Insights keeps local auth off.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  PYTHON_ENABLE_OPENTELEMETRY: 'true'
}

// The Durable Task Scheduler backend overrides host.json's storageProvider (AzureStorage).
var schedulerSettings = {
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: useScheduler ? 'Endpoint=${scheduler.outputs.endpoint};Authentication=ManagedIdentity' : ''
}

var functionAppSettings = union(
  hostSettings,
  appSettings,
  jwtSettings,
  relaySettings,
  notifySettings,
  profileApiSettings,
  useScheduler ? schedulerSettings : {},
  extraAppSettings
)

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.functionApp
    planName: names.plan
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    zoneRedundant: zoneRedundant
    appSettings: functionAppSettings
    authClientId: authClientId
    subnetId: privateNetworking ? network.outputs.appSubnetId : ''
  }
}

module access 'modules/access.bicep' = {
  name: 'access'
  scope: rg
  params: {
    principalId: functionApp.outputs.principalId
    hostStorageName: hostStorage.outputs.name
    lakeName: lake.outputs.name
    keyVaultName: keyVault.outputs.name
    cosmosName: cosmos.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    schedulerName: useScheduler ? names.scheduler : ''
  }
}

module events 'modules/events.bicep' = {
  name: 'events'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: names.prefix
    functionAppId: functionApp.outputs.id
    relayPrincipalId: functionApp.outputs.principalId
    subscribe: subscribeEvents
    lakeName: lake.outputs.name
    deadLetterContainer: lake.outputs.deadLetterContainer
    d2cPublisherPrincipalId: d2cPublisherPrincipalId
    d2cPublisherPrincipalType: d2cPublisherPrincipalType
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: names.prefix
    appInsightsId: monitoring.outputs.appInsightsId
    alertEmail: alertEmail
  }
}

// API Management in front of the profile API, when it is on and has a publisher e-mail.
module apim 'modules/apim.bicep' = if (useApim) {
  name: 'apim'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.apim
    sku: apimSku
    publisherEmail: apimPublisherEmail
    functionHostName: functionApp.outputs.hostName
    tenantId: tenant().tenantId
    audience: profileApiAudience
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SUPPORT_CONSOLE_URL string = 'https://${functionApp.outputs.hostName}/api/support/console'
output EVENT_TOPIC_ENDPOINTS array = events.outputs.topicEndpoints
output DURABLE_BACKEND string = durableBackend
// Kept in the azd environment: the preprovision hook compares the next provision against it.
output COSMOS_CAPACITY_MODE string = (cosmosThroughput == 0) ? 'serverless' : 'provisioned'
output KEY_VAULT_NAME string = keyVault.outputs.name
// Private variant: the one address the app's outbound calls come from (for Salesforce's and
// the D2C platform's IP allow lists); empty without it.
output OUTBOUND_IP_ADDRESS string = privateNetworking ? network.outputs.outboundIpAddress : ''
output PROFILE_API_GATEWAY_URL string = useApim ? apim.outputs.gatewayUrl : ''
