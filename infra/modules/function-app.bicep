// The Function App on Flex Consumption: Python 3.11, system-assigned identity, HTTPS only,
// TLS 1.2, FTP and basic publishing credentials off (by the publishing credential policies:
// Flex Consumption refuses siteConfig.ftpsState and the other stack and scale properties,
// which live in functionAppConfig here; tests/infra/test_azure_rules.py lists them), the deployment package pulled from the
// host storage account with the identity, and App Service authentication (Entra ID) in
// front of the support API and console.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Function App name (globally unique: it is the host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Blob container URL the deployment package goes to (host storage).')
param deploymentContainerUrl string

@description('Most instances Flex Consumption scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance, MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Spread instances over availability zones (the platform then keeps at least two always-ready instances per function group, billed all the time).')
param zoneRedundant bool

@description('App settings, whole: main.bicep assembles them (and the settings test checks them).')
param appSettings object

@description('Client id of the Entra app registration that signs support staff in.')
param authClientId string

@description('Subnet of the Flex Consumption VNet integration (private-network variant); empty: none.')
param subnetId string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the service to deploy `api` (azure.yaml) to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    // Private variant: all outbound traffic goes into the virtual network (storage, Cosmos DB
    // and Key Vault over private endpoints, the internet through the NAT gateway).
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [for item in items(appSettings): { name: item.key, value: item.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// App Service authentication: a signed-in caller's identity and app roles reach the app as
// X-MS-CLIENT-PRINCIPAL (SUPPORT_AUTH_MODE=easyauth), and the platform strips that header
// from anything a client sends. Anonymous requests still pass: the Event Grid webhook and
// the function-key endpoints need no sign-in, and the support API answers 401/403 itself.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    // No token store: Flex Consumption has no shared file system to keep one in, and the app
    // never reads stored provider tokens (only the X-MS-CLIENT-PRINCIPAL header).
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output id string = site.id
output name string = site.name
output principalId string = site.identity.principalId
output hostName string = site.properties.defaultHostName
