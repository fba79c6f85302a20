"""Events Event Grid dead-letters reach support staff, and a replay brings them to the app once.

Real parts: the sandbox's Event Grid D2C topic (the D2C stand-in publishes there) delivering
on the shrunk schedule, its dead letters written as blobs to a folder or an Azurite
container, and the app on devhost reading that container and publishing the replay with
azure-eventgrid's client back to the topic.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import sandbox
from crosswalk.updates import signup_instance_id
from devhost.testing import RunningHost, run
from sandbox.eventgrid.deadletter import BlobDestination, FolderDestination
from sandbox.eventgrid.delivery import Subscription
from scripts.localstack import APP_DIR, app_env, d2c_topic_env
from tests.azurite import free_port
from tests.support.stack import APPROVE, KEY, OPERATE, READ, SupportStack

pytestmark = pytest.mark.slow
SUBSCRIPTION = "crosswalk-d2c"  # the name infra/modules/events.bicep gives it


@dataclass
class DeadLetterStack:
    sb: Any
    host: RunningHost
    destination: Any
    list_blobs: Any  # () -> names in the dead-letter container
    app_endpoint: str

    def auth(self, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {SupportStack.token(*roles)}"}

    def get(self, path: str, *roles: str):
        return self.host.get(f"/api/support/{path}", headers=self.auth(*roles))

    def post(self, path: str, body: Any, *roles: str):
        return self.host.post(f"/api/support/{path}", json=body, headers=self.auth(*roles))

    def subscribe(self, endpoint: str) -> None:
        self.sb.eventgrid.subscribe(
            "d2c",
            Subscription(SUBSCRIPTION, endpoint, max_attempts=2, dead_letter=self.destination),
        )

    def dead_lettered_sign_up(self, email: str) -> dict[str, Any]:
        """A storefront sign-up while the app's endpoint is down: Event Grid tries twice on
        the shrunk schedule, gives up and writes the blob."""
        self.subscribe(f"http://127.0.0.1:{free_port()}/runtime/webhooks/eventgrid")
        before = set(self.list_blobs())
        registered = self.sb.d2c_register(email, "Lost", company_name="Lost Signals Ltd")
        assert self.sb.wait_events_drained(10, "d2c")  # published to the topic
        assert self.sb.eventgrid.topic("d2c").deliveries.wait_drained(20)  # and dead-lettered
        new = set(self.list_blobs()) - before
        assert len(new) == 1, new
        self.subscribe(self.app_endpoint)  # the endpoint is back
        return {**registered, "blob": new.pop()}


@pytest.fixture(scope="module", params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
def dl(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeadLetterStack]:
    data = tmp_path_factory.mktemp(f"deadletters-{request.param}")
    container = f"eventgrid-deadletter-{uuid.uuid4().hex[:8]}"
    with sandbox.run(seed=5, eventgrid_time_scale=0.001) as sb:
        env = app_env(
            sb,
            data,
            SUPPORT_AUTH_MODE="dev_token",
            SUPPORT_DEV_TOKEN_KEY=KEY,
            LAKE_EVENTGRID_DEADLETTER_CONTAINER=container,
            **d2c_topic_env(sb),
        )
        client = None
        if request.param == "folder":
            folder = data / container  # beside LAKE_FOLDER (data/lake): where the app reads
            folder.mkdir()
            destination: Any = FolderDestination(folder)

            def names() -> list[str]:
                return [p.relative_to(folder).as_posix() for p in folder.rglob("*.json")]
        else:
            from azure.storage.blob import ContainerClient

            connection = request.getfixturevalue("azurite_connection_string")
            env.update(LAKE_KIND="blob", LAKE_CONNECTION_STRING=connection)
            env["LAKE_CONTAINER"] = f"lake-{uuid.uuid4().hex[:8]}"
            client = ContainerClient.from_connection_string(connection, container)
            client.create_container()
            destination = BlobDestination(client)

            def names() -> list[str]:
                return [b.name for b in client.list_blobs()]

        sb.publish_events_to_topics(d2c=True)
        with run(APP_DIR, env=env) as host:
            yield DeadLetterStack(
                sb,
                host,
                destination,
                names,
                f"{host.url}/runtime/webhooks/eventgrid?functionName=d2c_events",
            )
        if client is not None:
            client.delete_container()
            client.close()


def wait_finished(host: RunningHost, instance_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = host.status(instance_id)
        if status and status.get("runtimeStatus") in ("Completed", "Failed", "Terminated"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"{instance_id} did not finish")


def test_a_dead_lettered_event_is_listed_for_support_with_personal_data_masked(dl) -> None:
    signup = dl.dead_lettered_sign_up("mia.lost@lostsignals.example")

    listed = dl.get("deadletters", READ)
    unmasked = dl.get("deadletters", APPROVE).json()

    assert listed.status == 200, listed.text
    body = listed.json()
    [blob] = [b for b in body["items"] if b["blob"] == signup["blob"]]
    assert blob["subscription"] == SUBSCRIPTION.upper()
    [event] = blob["events"]
    assert (event["type"], event["topic"]) == ("customer.registered", "d2c")
    assert event["reason"] == "MaxDeliveryAttemptsExceeded"
    assert (event["attempts"], event["outcome"]) == (2, "SocketError")
    assert "mia.lost@lostsignals.example" not in listed.text and body["masked"] is True
    assert "mia.lost@lostsignals.example" in json.dumps(unmasked)
    assert body["total"] >= 1


def test_the_health_page_counts_them_with_a_console_page(dl) -> None:
    dl.dead_lettered_sign_up("noor.lost@lostsignals.example")

    health = dl.get("health", READ).json()

    [item] = [i for i in health["attention"] if i["kind"] == "eventgrid_dead_letters"]
    assert item["count"] == health["eventGridDeadLetters"] == len(dl.list_blobs())
    assert item["page"] == "#/deadletters"


def test_a_replay_by_an_approver_reaches_the_app_once_and_is_safe_to_repeat(dl) -> None:
    signup = dl.dead_lettered_sign_up("ada.lost@lostsignals.example")
    topic = dl.sb.eventgrid.topic("d2c")
    listed = dl.get("deadletters", READ).json()["items"]
    [event_id] = [b["events"][0]["id"] for b in listed if b["blob"] == signup["blob"]]
    instance = signup_instance_id(signup["id"], "registered", signup["version"])
    assert dl.host.status(instance) is None  # it never reached the app

    first = dl.post(
        "deadletters/replay", {"blobs": [signup["blob"]], "reason": "app was down"}, APPROVE
    )
    again = dl.post("deadletters/replay", {"blobs": [signup["blob"]], "reason": "twice"}, APPROVE)

    assert first.status == 200, first.text
    assert first.json()["results"] == [
        {"blob": signup["blob"], "outcome": "replayed", "events": 1, "topics": ["d2c"]}
    ]
    assert again.json()["results"][0]["outcome"] == "gone"
    assert signup["blob"] not in dl.list_blobs()
    assert wait_finished(dl.host, instance)["runtimeStatus"] == "Completed"
    assert topic.deliveries.wait_drained(10)
    # the same event, under its own id, reached the app once: by the first replay
    assert [e["id"] for e in topic.deliveries.delivered].count(event_id) == 1
    audit = dl.get("audit?action=replay_dead_letters", READ).json()["items"]
    assert [e["outcome"] for e in audit[:2]] == ["done", "done"]
    assert audit[1]["reason"] == "app was down" and audit[1]["actor"] == "kim@support.example"


def test_only_an_approver_may_replay_and_the_refusal_is_audited(dl) -> None:
    for role in (READ, OPERATE):
        response = dl.post("deadletters/replay", {"not": "read"}, role)
        assert response.status == 403, response.text

    audit = dl.get("audit?action=replay_dead_letters", READ).json()["items"]
    assert audit[0]["outcome"] == "refused: forbidden"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"blobs": "CROSSWALK-D2C/2026/3/4/9/x.json", "reason": "r"}, "blobs"),
        ({"blobs": [], "reason": "r"}, "blobs"),
        ({"blobs": ["../lake/raw/x.json"], "reason": "r"}, "blobs.0"),
        ({"blobs": ["CROSSWALK-D2C/2026/13/4/9/x.json"], "reason": "r"}, "blobs.0"),
        ({"blobs": ["CROSSWALK-D2C/2026/3/4/9/x.json"]}, "reason"),
        ({"blobs": ["CROSSWALK-D2C/2026/3/4/9/x.json"], "reason": "r", "dryRun": True}, "dryRun"),
    ],
)
def test_a_bad_replay_body_is_a_400_naming_the_field(dl, body, field) -> None:
    response = dl.post("deadletters/replay", body, APPROVE)

    assert response.status == 400, response.text
    assert field in [f["field"] for f in response.json()["error"]["fields"]]


def test_a_blob_that_is_not_there_is_reported_gone(dl) -> None:
    name = f"{SUBSCRIPTION.upper()}/2026/3/4/9/{uuid.uuid4()}.json"

    response = dl.post("deadletters/replay", {"blobs": [name], "reason": "r"}, APPROVE)

    assert response.status == 200
    assert response.json()["counts"] == {"gone": 1}


def _write_blob(stack: SupportStack, body: bytes) -> str:
    """A dead letter where the app reads them (beside LAKE_FOLDER), as Event Grid names it."""
    name = f"{SUBSCRIPTION.upper()}/2026/3/4/9/{uuid.uuid4()}.json"
    path = stack.data / "eventgrid-deadletter" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return name


def test_without_the_topics_endpoint_a_replay_is_refused_and_the_blob_kept(stack) -> None:
    event = {
        "id": "evt-kept",
        "source": "/d2c/customers",
        "specversion": "1.0",
        "type": "customer.updated",
        "data": {},
        "deadletterreason": "MaxDeliveryAttemptsExceeded",
    }
    kept = _write_blob(stack, json.dumps([event]).encode())
    unreadable = _write_blob(stack, b"{half a blob")

    response = stack.post(
        "deadletters/replay", {"blobs": [kept, unreadable], "reason": "r"}, APPROVE
    )

    first, second = response.json()["results"]
    assert (first["outcome"], second["outcome"]) == ("refused", "refused")
    assert "D2C_EVENT_GRID_ENDPOINT" in first["detail"]
    assert "not JSON" in second["detail"]
    listed = {b["blob"]: b for b in stack.get("deadletters", READ).json()["items"]}
    assert listed[kept]["events"][0]["id"] == "evt-kept"
    assert listed[unreadable]["problem"] == "not JSON"


def test_a_blob_event_grid_did_not_take_stays_and_the_next_replay_sends_it(dl) -> None:
    signup = dl.dead_lettered_sign_up("lin.lost@lostsignals.example")
    topic = dl.sb.eventgrid.topic("d2c")
    topic.fail_next = [400]  # the topic refuses the next publish

    refused = dl.post("deadletters/replay", {"blobs": [signup["blob"]], "reason": "r"}, APPROVE)
    kept = signup["blob"] in dl.list_blobs()
    retried = dl.post("deadletters/replay", {"blobs": [signup["blob"]], "reason": "r"}, APPROVE)

    [failed] = refused.json()["results"]
    assert (failed["outcome"], kept) == ("failed", True)
    assert "400" in failed["detail"]
    assert retried.json()["counts"] == {"replayed": 1}
    assert signup["blob"] not in dl.list_blobs()
