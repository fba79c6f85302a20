"""Salesforce's Pub/Sub API contract: ``eventbus.proto`` (written from Salesforce's documented
messages) and the modules grpcio-tools generates from it, checked in.

A package of its own, like a vendored client library: the app's relay (crosswalk/relay) and
the sandbox's Pub/Sub server both speak it, and neither imports the other. Checked in rather
than generated at build time because Azure's remote build only runs ``pip install -r
requirements.txt``: the deploy zip must carry the modules. ``tests/pubsub/test_stubs.py``
fails when they no longer match the proto.
"""
