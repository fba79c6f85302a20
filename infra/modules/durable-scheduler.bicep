// The Durable Task Scheduler backend (durableBackend = 'DurableTaskScheduler'): a scheduler
// and the task hub the app's host.json names ("crosswalk"). The app's identity gets
// Durable Task Data Contributor on it in access.bicep.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Scheduler name (3-64 letters, digits and hyphens).')
param name string

@description('Task hub name: host.json\'s durableTask.hubName.')
param taskHubName string

@description('Consumption (pay per action) or Dedicated (reserved capacity units).')
@allowed(['Consumption', 'Dedicated'])
param sku string = 'Consumption'

@description('Capacity units of a Dedicated scheduler (Consumption takes none).')
@minValue(1)
param capacity int = 1

@description('Addresses allowed to reach the scheduler (CIDR): everyone (identity decides) or, in the private variant, the NAT gateway\'s outbound address.')
param allowedAddresses array = ['0.0.0.0/0']

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: (sku == 'Dedicated') ? { name: sku, capacity: capacity } : { name: sku }
    // Without a VNet Flex Consumption has no fixed outbound addresses: access is decided by
    // the identity's role, not by IP (an empty list would refuse every caller). The private
    // variant narrows it to the NAT gateway's address: the scheduler has no private endpoint.
    ipAllowlist: allowedAddresses
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output id string = scheduler.id
output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
