// Alerts for what docs/operations.md says waits for a person, to an action group that
// e-mails the on-call address. Each rule queries the log lines the app writes to
// Application Insights (`traces`) and the host's `exceptions`:
// - needs_attention: an undo kept failing (activities/notify.py logs "needs_attention {...}";
//   the hourly digest lists it too);
// - failures: the hourly digest (triggers/support_digest.py, "support digest [...]") lists
//   failed onboardings or failed reconciliation repairs, or a handler crashed
//   ("unhandled error in ...", triggers/responses.py);
// - Salesforce allowance: Salesforce refused a call with REQUEST_LIMIT_EXCEEDED (the org's
//   daily API allowance is spent; the error tag carries the code).

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Prefix of the rule and action group names.')
param namePrefix string

@description('Application Insights component the rules query.')
param appInsightsId string

@description('Who is told; empty creates the rules without an e-mail receiver.')
param alertEmail string

var rules = [
  {
    key: 'needs-attention'
    severity: 1
    frequency: 'PT15M'
    description: 'A record needs attention: an undo kept failing (docs/operations.md, "Undo failures").'
    query: 'traces | where message startswith "needs_attention " or (message startswith "support digest " and message has "\\"kind\\": \\"needs_attention\\"")'
  }
  {
    key: 'failures'
    severity: 2
    frequency: 'PT1H'
    description: 'Failed onboardings or reconciliation repairs wait for a person, or a handler crashed (docs/operations.md, "Failed onboardings").'
    query: 'traces | where (message startswith "support digest " and (message has "\\"kind\\": \\"failed\\"" or message has "\\"kind\\": \\"reconciliation\\"")) or message startswith "unhandled error in "'
  }
  {
    key: 'salesforce-allowance'
    severity: 2
    frequency: 'PT15M'
    description: 'Salesforce refused calls: the org\'s daily API allowance is spent (REQUEST_LIMIT_EXCEEDED). Work waits and retries until it recovers.'
    query: 'union traces, exceptions | where * has "REQUEST_LIMIT_EXCEEDED"'
  }
]

resource group 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-oncall'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'crosswalk'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'on-call'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource rule 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for r in rules: {
    name: '${namePrefix}-${r.key}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: 'Crosswalk: ${r.key}'
      description: r.description
      severity: r.severity
      enabled: true
      scopes: [appInsightsId]
      evaluationFrequency: r.frequency
      windowSize: r.frequency
      criteria: {
        allOf: [
          {
            query: r.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [group.id]
      }
    }
  }
]
