// Event Grid: one custom topic for Salesforce change events (relayed from Salesforce) and
// one for D2C events, both CloudEvents 1.0. Publishers authenticate with Entra ID (local
// auth off; grant them EventGrid Data Sender, README step 4). Each topic's subscription
// delivers to the Event Grid trigger of the same name in the app, retries, and dead-letters
// what it cannot deliver to the lake's dead-letter container with the topic's identity.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Prefix of the topic names.')
param namePrefix string

@description('Function App resource id (subscriptions deliver to its functions).')
param functionAppId string

@description('The Function App identity\'s principal id: the Pub/Sub API relay publishes to the Salesforce topic with it.')
param relayPrincipalId string

@description('Create the subscriptions. Event Grid checks that the function exists, so the first provision (before any code is deployed) leaves them out; azure.yaml\'s postdeploy hook provisions again with this on.')
param subscribe bool

@description('Object id of the D2C platform\'s identity (a managed identity or an app registration\'s service principal) that publishes to the D2C topic; empty: grant it by hand (README, step 4).')
param d2cPublisherPrincipalId string = ''

@description('What kind of principal d2cPublisherPrincipalId is.')
@allowed(['ServicePrincipal', 'Group', 'User'])
param d2cPublisherPrincipalType string = 'ServicePrincipal'

@description('Lake storage account (dead letters).')
param lakeName string

@description('Lake container Event Grid dead-letters to.')
param deadLetterContainer string

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an event is retried before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveMinutes int = 1440

// topic key -> the Event Grid trigger function that receives its events
var topics = [
  { key: 'salesforce', function: 'salesforce_change_events' }
  { key: 'd2c', function: 'd2c_events' }
]

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource lake 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: lakeName
}

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = [
  for t in topics: {
    name: '${namePrefix}-${t.key}-events'
    location: location
    tags: tags
    identity: {
      type: 'SystemAssigned'
    }
    properties: {
      inputSchema: 'CloudEventSchemaV1_0'
      disableLocalAuth: true
      publicNetworkAccess: 'Enabled'
    }
  }
]

resource deadLetterAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (t, i) in topics: {
    name: guid(lake.id, topic[i].id, storageBlobDataContributor)
    scope: lake
    properties: {
      principalId: topic[i].identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    }
  }
]

// The relay runs in the Function App (crosswalk/relay): its identity publishes to the
// Salesforce topic, and only there.
resource relaySender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic[0].id, relayPrincipalId, eventGridDataSender)
  scope: topic[0]
  properties: {
    principalId: relayPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
  }
}

resource subscription 'Microsoft.EventGrid/topics/eventSubscriptions@2022-06-15' = [
  for (t, i) in topics: if (subscribe) {
    parent: topic[i]
    // Subscription names: 3-64 letters, digits and hyphens (function names have underscores).
    name: 'crosswalk-${t.key}'
    dependsOn: [deadLetterAccess]
    properties: {
      destination: {
        endpointType: 'AzureFunction'
        properties: {
          resourceId: '${functionAppId}/functions/${t.function}'
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      eventDeliverySchema: 'CloudEventSchemaV1_0'
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: eventTimeToLiveMinutes
      }
      deadLetterWithResourceIdentity: {
        identity: {
          type: 'SystemAssigned'
        }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: lake.id
            blobContainerName: deadLetterContainer
          }
        }
      }
    }
  }
]

output topicEndpoints array = [for (t, i) in topics: { key: t.key, endpoint: topic[i].properties.endpoint }]

// The D2C platform publishes to the D2C topic with its own identity, and only there.
resource d2cSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(d2cPublisherPrincipalId)) {
  name: guid(topic[1].id, d2cPublisherPrincipalId, eventGridDataSender)
  scope: topic[1]
  properties: {
    principalId: d2cPublisherPrincipalId
    principalType: d2cPublisherPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
  }
}
