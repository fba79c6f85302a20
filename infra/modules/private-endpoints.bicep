// Private endpoints and their private DNS zones (privateNetworking = true): each endpoint puts
// one service's sub-resource (blob, queue, table, dfs, Sql, vault) into the `endpoints`
// subnet, and its zone group registers the private address in the zone the service's host
// name resolves through (privatelink.*), linked to the virtual network. The Function App,
// integrated with that network, then reaches each service at its usual host name over a
// private address, and each service's public network access is off.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Prefix of the endpoint names.')
param namePrefix string

@description('Virtual network the zones are linked to.')
param vnetId string

@description('Subnet the endpoints are put in.')
param subnetId string

@description('Private DNS zone names, e.g. privatelink.blob.core.windows.net.')
param zones array

@description('One item per endpoint: key (name suffix), resourceId, groupId and zone (index into zones).')
param endpoints array

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for z in zones: {
    name: z
    location: 'global'
    tags: tags
  }
]

resource zoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (z, i) in zones: {
    parent: zone[i]
    name: 'crosswalk-vnet'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnetId
      }
    }
  }
]

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for e in endpoints: {
    name: '${namePrefix}-${e.key}-pe'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetId
      }
      privateLinkServiceConnections: [
        {
          name: e.key
          properties: {
            privateLinkServiceId: e.resourceId
            groupIds: [e.groupId]
          }
        }
      ]
    }
  }
]

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (e, i) in endpoints: {
    parent: endpoint[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: e.groupId
          properties: {
            privateDnsZoneId: zone[e.zone].id
          }
        }
      ]
    }
  }
]

output endpointCount int = length(endpoints)
