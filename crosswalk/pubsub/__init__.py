"""Salesforce change events as the Pub/Sub API delivers them: bitmap decoding and the
conversion of an Avro change event into the CometD JSON the app consumes (the gRPC contract
itself is the ``pubsub_api`` package)."""
