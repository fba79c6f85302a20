"""``--data DIR`` keeps keys and data across restarts (``persist=True``)."""

from __future__ import annotations

from pathlib import Path

import requests

import sandbox
from sandbox.__main__ import banner, org_rules, parse_args


def test_data_survives_a_restart(tmp_path: Path) -> None:
    with sandbox.Sandbox(seed=3, data_dir=tmp_path, persist=True) as sb:
        aid = sb.salesforce_create("Account", {"Name": "Kept", "D2C_Customer_Id__c": "cus_k"})
        with requests.Session() as s:
            s.headers.update({"Authorization": f"Bearer {sb.d2c_token}", "Idempotency-Key": "k"})
            first = s.post(f"{sb.d2c_url}/v1/customers", json={"kind": "consumer", "name": "C"})
        ca = Path(sb.ca_bundle).read_bytes()
    with sandbox.Sandbox(seed=50, data_dir=tmp_path, persist=True) as again:
        assert again.seed == 3
        names = [a["Name"] for a in again.salesforce_records("Account")]
        assert len(names) == 4 and names[-1] == "Kept"
        assert again.salesforce_record("Account", aid)["D2C_Customer_Id__c"] == "cus_k"
        new_id = again.salesforce_create("Account", {"Name": "Next"})
        assert new_id > aid
        with requests.Session() as s:
            s.headers.update({"Authorization": f"Bearer {again.d2c_token}", "Idempotency-Key": "k"})
            replay = s.post(f"{again.d2c_url}/v1/customers", json={"kind": "consumer", "name": "C"})
            assert replay.json() == first.json()
            assert replay.headers["Idempotent-Replayed"] == "true"
        assert Path(again.ca_bundle).read_bytes() == ca
    with sandbox.Sandbox(seed=2, data_dir=tmp_path) as plain:  # persist off: seeded afresh
        assert len(plain.salesforce_records("Account")) == 2


def test_cli_arguments_and_banner() -> None:
    args = parse_args(["--seed", "5", "--events-to", "http://x/y", "--fresh"])
    assert (args.salesforce_port, args.d2c_port, args.seed, args.fresh) == (8443, 8082, 5, True)
    with sandbox.run() as sb:
        text = banner(sb)
        assert f"SALESFORCE_LOGIN_URL={sb.salesforce_url}" in text
        assert f"SALESFORCE_CA_BUNDLE={sb.ca_bundle}" in text
        assert f"D2C_TOKEN={sb.d2c_token}" in text


def test_cli_switches_org_settings_on() -> None:
    strict = parse_args(
        ["--restricted-picklists", "Account.Industry,Lead.LeadSource", "--state-country-picklists"]
    )

    assert org_rules(parse_args([])) == {
        "restricted_picklists": [],
        "state_country_picklists": False,
        "duplicate_rules": False,
    }
    assert org_rules(strict) == {
        "restricted_picklists": ["Account.Industry", "Lead.LeadSource"],
        "state_country_picklists": True,
        "duplicate_rules": False,
    }


def _subscribe(sb: sandbox.Sandbox, **fetch: object) -> list[object]:
    """Events a fresh Pub/Sub API subscription to Account changes returns first."""
    import grpc

    from pubsub_api import eventbus_pb2 as pb
    from pubsub_api import eventbus_pb2_grpc as pb_grpc

    creds = grpc.ssl_channel_credentials(Path(sb.ca_bundle).read_bytes())
    meta = [
        ("accesstoken", sb.salesforce_token()),
        ("instanceurl", sb.salesforce_url),
        ("tenantid", sb.org_id),
    ]
    request = pb.FetchRequest(topic_name="/data/AccountChangeEvent", num_requested=10, **fetch)
    with grpc.secure_channel(sb.pubsub_target, creds) as channel:
        call = pb_grpc.PubSubStub(channel).Subscribe(iter([request]), metadata=meta, timeout=10)
        try:
            return list(next(call).events)
        finally:
            call.cancel()


def test_a_pubsub_checkpoint_taken_before_a_restart_resumes_after_it(tmp_path: Path) -> None:
    # Salesforce keeps change events 72 hours whatever a client does; a relay that stopped
    # with the stand-in resumes from its stored replay id and misses nothing.
    from pubsub_api import eventbus_pb2 as pb

    with sandbox.Sandbox(seed=1, data_dir=tmp_path, persist=True) as sb:
        sb.salesforce_create("Account", {"Name": "Seen"})
        checkpoint = _subscribe(sb, replay_preset=pb.EARLIEST)[-1].replay_id
        missed = sb.salesforce_create("Account", {"Name": "Made before the stop"})

    with sandbox.Sandbox(seed=1, data_dir=tmp_path, persist=True) as again:
        after = again.salesforce_create("Account", {"Name": "Made after the restart"})
        resumed = _subscribe(again, replay_preset=pb.CUSTOM, replay_id=checkpoint)

    assert len(resumed) == 2 and resumed[0].replay_id > checkpoint
    payloads = [e.event.payload for e in resumed]
    assert missed.encode() in payloads[0] and after.encode() in payloads[1]
