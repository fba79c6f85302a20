"""The Event Grid stand-in: custom topics in the CloudEvents 1.0 input schema that
`EventGridPublisherClient` publishes to unchanged, and push delivery to subscribed endpoints
as Event Grid does it (docs/sandbox.md "Event Grid")."""
