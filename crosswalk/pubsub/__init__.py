"""Salesforce's Pub/Sub API as Crosswalk reads it: the gRPC messages (``eventbus.proto`` and
the modules generated from it, checked in), change event schemas, bitmap decoding and the
conversion of an Avro change event into the CometD JSON the app consumes."""
