// API Management in front of the profile API: the storefront's backend calls the gateway with
// an Entra ID access token; `validate-jwt` refuses anything without a valid token carrying the
// Profiles.Read role before it reaches the Function App (which checks the token again), and a
// rate limit keeps one client from starving the others. The API is imported from the OpenAPI
// 3.0 rendering of the document the app serves (docs/profile-api.openapi30.json, kept equal
// to it by a test): API Management documents OpenAPI 3.1 import as partial, with caveats.

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('API Management instance name (globally unique: it is the gateway host name).')
param name string

@description('Consumption is billed per call and scales to zero; the v2 tiers have a monthly price and allow rate limits by token client.')
@allowed(['Consumption', 'BasicV2', 'StandardV2'])
param sku string = 'Consumption'

@description('Who runs the API (API Management requires a publisher).')
param publisherEmail string

@description('Publisher name shown in the developer portal.')
param publisherName string = 'Crosswalk'

@description('Host name of the Function App that serves /api/profiles.')
param functionHostName string

@description('Entra ID tenant whose tokens are accepted.')
param tenantId string

@description('Audience the tokens must carry: the profile API app registration\'s client id.')
param audience string

@description('App role a caller\'s token must carry.')
param requiredRole string = 'Profiles.Read'

@description('Calls per minute one client may make (per token client on the v2 tiers, per subscription on Consumption).')
@minValue(1)
param callsPerMinute int = 600

var consumption = sku == 'Consumption'
var issuer = '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
// Consumption has no rate-limit-by-key: each calling application gets its own subscription
// (key), and `rate-limit` counts per subscription, which is per client all the same.
// (one line: pycep-parser, checkov's Bicep parser, reads no multi-line conditions)
var rateLimit = consumption ? '<rate-limit calls="${callsPerMinute}" renewal-period="60" />' : '<rate-limit-by-key calls="${callsPerMinute}" renewal-period="60" counter-key="@(((Jwt)context.Variables[&quot;token&quot;]).Claims.GetValueOrDefault(&quot;azp&quot;, &quot;unknown&quot;))" />'
var policy = '''<policies>
  <inbound>
    <base />
    <validate-jwt header-name="Authorization" require-scheme="Bearer" failed-validation-httpcode="401" failed-validation-error-message="a valid Entra ID access token is required" output-token-variable-name="token">
      <openid-config url="__OPENID_CONFIG__" />
      <audiences><audience>__AUDIENCE__</audience></audiences>
      <issuers><issuer>__ISSUER__</issuer></issuers>
      <required-claims>
        <claim name="roles" match="any"><value>__ROLE__</value></claim>
      </required-claims>
    </validate-jwt>
    __RATE_LIMIT__
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>'''

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: consumption ? 0 : 1
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
    customProperties: {
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'False'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'False'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'False'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'False'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30': 'False'
    }
  }
}

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'crosswalk-profiles'
  properties: {
    displayName: 'Crosswalk profile API'
    path: 'crosswalk'
    protocols: ['https']
    serviceUrl: 'https://${functionHostName}/api'
    subscriptionRequired: consumption
    format: 'openapi+json'
    value: loadTextContent('../../docs/profile-api.openapi30.json')
  }
}

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: replace(replace(replace(replace(replace(policy, '__OPENID_CONFIG__', '${issuer}/.well-known/openid-configuration'), '__AUDIENCE__', audience), '__ISSUER__', issuer), '__ROLE__', requiredRole), '__RATE_LIMIT__', rateLimit)
  }
}

@description('The profile API through the gateway: <gatewayUrl>/crosswalk/profiles/{key}.')
output gatewayUrl string = apim.properties.gatewayUrl

output name string = apim.name
