"""The Salesforce Pub/Sub API stand-in: change event schemas and Avro payloads, the retained
event bus, and the gRPC server over TLS (docs/sandbox.md "Pub/Sub API")."""
