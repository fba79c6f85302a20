// The private-network variant's network (privateNetworking = true): one virtual network with
// - `app`, the Function App's Flex Consumption VNet integration subnet (delegated to
//   Microsoft.App/environments, as Flex Consumption requires), whose outbound traffic leaves
//   through a NAT gateway with one static public IP: Salesforce, the D2C API, Entra ID, Event
//   Grid and Application Insights stay on the internet, and new subnets have no default
//   outbound access. The fixed address is also what Salesforce's and the D2C platform's IP
//   allow lists can name;
// - `endpoints`, the private endpoints of the host storage, the lake, Cosmos DB and Key Vault
//   (private-endpoints.bicep).
// Network security groups on both subnets deny inbound traffic from the internet.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Prefix of the resource names.')
param namePrefix string

@description('Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

@description('The Function App\'s integration subnet (Flex Consumption: /27 at least, one address per instance; a /24 leaves room to scale out).')
param appSubnetPrefix string = '10.40.0.0/24'

@description('The private endpoints\' subnet.')
param endpointSubnetPrefix string = '10.40.1.0/24'

resource outboundIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: '${namePrefix}-outbound-ip'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

resource nat 'Microsoft.Network/natGateways@2024-05-01' = {
  name: '${namePrefix}-nat'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: outboundIp.id
      }
    ]
  }
}

resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${namePrefix}-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'deny-internet-inbound'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: 'VirtualNetwork'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: '${namePrefix}-vnet'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          defaultOutboundAccess: false
          natGateway: {
            id: nat.id
          }
          networkSecurityGroup: {
            id: nsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          defaultOutboundAccess: false
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output id string = vnet.id
output appSubnetId string = vnet.properties.subnets[0].id
output endpointSubnetId string = vnet.properties.subnets[1].id
output outboundIpAddress string = outboundIp.properties.ipAddress
