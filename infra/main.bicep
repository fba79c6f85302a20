// Crosswalk on Azure: `azd up` provisions this, then deploys the app to the Function App.
// One module per concern (modules/); this file only wires them together and assembles the
// Function App's settings, which tests/infra checks against crosswalk/settings.py: every
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

@description('Cosmos DB throughput: 0 is serverless (pay per request); otherwise the autoscale maximum RU/s (1000 or more).')
@minValue(0)
param cosmosThroughput int = 0

@description('Most instances the Function App scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Function App instance, MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Spread the Function App over availability zones (region must have them). Keeps at least two always-ready instances per function group, which bills all the time.')
param zoneRedundant bool = false

@description('E-mail address alerts go to (empty: alert rules without a receiver).')
param alertEmail string = ''

@description('Client id of the Entra app registration that signs support staff in (README: Deploying to Azure, step 1).')
@minLength(1)
param authClientId string

@description('Salesforce login or My Domain URL (SALESFORCE_LOGIN_URL).')
param salesforceLoginUrl string = 'https://login.salesforce.com'

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

@description('Create the Event Grid subscriptions. Off on the first provision (the functions do not exist before the first deploy); azure.yaml\'s postdeploy hook turns it on and provisions again.')
param subscribeEvents bool = false

@description('Application (client) ID of the profile API app registration. Empty: the profile API stays off (503) and no API Management is created.')
param profileApiAudience string = ''

@description('API Management SKU of the profile API gateway (with profileApiAudience).')
@allowed(['Consumption', 'BasicV2', 'StandardV2'])
param apimSku string = 'Consumption'

@description('API Management publisher e-mail, which the service requires (with profileApiAudience).')
param apimPublisherEmail string = ''

@description('More app settings, e.g. {"APPROVAL_TIMEOUT_HOURS": "24"}: names from the README\'s configuration table only (tests/infra checks infra/main.parameters.json).')
param extraAppSettings object = {}

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var useScheduler = durableBackend == 'DurableTaskScheduler'

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

// The app's defaults (crosswalk/settings.py), written out so the resources and the
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
    }
  }
}

module scheduler 'modules/durable-scheduler.bicep' = if (useScheduler) {
  name: 'durable-scheduler'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.scheduler
    taskHubName: taskHubName
    sku: schedulerSku
  }
}

// What crosswalk/settings.py reads (and the timer binding's %RECONCILE_SCHEDULE%).
var appSettings = {
  SALESFORCE_LOGIN_URL: salesforceLoginUrl
  SALESFORCE_AUTH_MODE: 'client_credentials'
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
// reads APPLICATIONINSIGHTS_CONNECTION_STRING too; host.json has telemetryMode OpenTelemetry).
var hostSettings = {
  AzureWebJobsStorage__accountName: names.hostStorage
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
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
    subscribe: subscribeEvents
    lakeName: lake.outputs.name
    deadLetterContainer: lake.outputs.deadLetterContainer
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

// API Management in front of the profile API, when it is on.
module apim 'modules/apim.bicep' = if (!empty(profileApiAudience)) {
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
output KEY_VAULT_NAME string = keyVault.outputs.name
output PROFILE_API_GATEWAY_URL string = empty(profileApiAudience) ? '' : apim.outputs.gatewayUrl
