"""The Pub/Sub API relay: reads Salesforce change events over gRPC, converts them to the
CometD JSON the app consumes, and publishes them as CloudEvents to the Salesforce Event Grid
topic, checkpointing in the lake only what Event Grid accepted (README "The relay")."""
