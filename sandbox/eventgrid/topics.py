"""Event Grid custom topics over HTTPS: ``POST /topics/<name>/api/events?api-version=...``.

What a topic in the CloudEvents 1.0 input schema takes (Event Grid's "CloudEvents v1.0
schema", "Authenticate publishing clients" and the quotas page): a JSON array of CloudEvents
(``Content-Type: application/cloudevents-batch+json``), each with ``id``, ``source``,
``specversion`` "1.0" and ``type``, extension attribute names lower-case alphanumeric; an
event and a request at most 1 MB (413 beyond). Authentication: ``aeg-sas-key`` with the topic's
key (when local auth is on), or ``Authorization: Bearer`` with an Entra ID token for
``https://eventgrid.azure.net`` whose client holds EventGrid Data Sender on the topic. 200 with
an empty body when accepted; the events then go to every subscription (delivery.py).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from ..entra.directory import EVENT_GRID_AUDIENCE, Directory
from .delivery import Deliveries, Subscription

MAX_BYTES = 1_048_576
_PATH = re.compile(r"^/topics/([a-z0-9-]{3,50})/api/events$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,20}$")
_REQUIRED = ("id", "source", "specversion", "type")
_CONTEXT = {
    "id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time",
    "data", "data_base64",
}  # fmt: skip


@dataclass
class Topic:
    name: str
    key: str
    local_auth: bool = True
    senders: set[str] = field(default_factory=set)  # client ids with EventGrid Data Sender
    deliveries: Deliveries | None = None
    published: int = 0
    requests: int = 0
    refused: int = 0
    fail_next: list[int] = field(default_factory=list)  # test fault: answer these statuses


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"code": code, "message": message}}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


class EventGridTopics:
    """Every topic of the stand-in; thread-safe (the server thread and tests call it)."""

    def __init__(self, directory: Directory, *, time_scale: float = 1.0, seed: int = 0) -> None:
        self.directory = directory
        self.time_scale = time_scale
        self.seed = seed
        self.url = ""  # https://host:port, once the server listens
        self.topics: dict[str, Topic] = {}
        self._lock = threading.Lock()

    def create(self, name: str, *, local_auth: bool = True) -> Topic:
        with self._lock:
            if name not in self.topics:
                self.topics[name] = Topic(
                    name,
                    key=secrets.token_urlsafe(32),
                    local_auth=local_auth,
                    deliveries=Deliveries(name, time_scale=self.time_scale, seed=self.seed),
                )
            return self.topics[name]

    def endpoint(self, name: str) -> str:
        return f"{self.url}/topics/{name}/api/events"

    def subscribe(self, topic: str, subscription: Subscription) -> None:
        deliveries = self.topic(topic).deliveries
        assert deliveries is not None
        deliveries.subscribe(subscription)

    def topic(self, name: str) -> Topic:
        with self._lock:
            return self.topics[name]

    def close(self) -> None:
        for topic in list(self.topics.values()):
            if topic.deliveries is not None:
                topic.deliveries.close()

    # -- HTTP -----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        match = _PATH.match(request.path)
        if match is None or match.group(1) not in self.topics:
            return _error(404, "NotFound", f"no topic at {request.path}")
        if request.method != "POST":
            return _error(405, "MethodNotAllowed", "only POST publishes events")
        topic = self.topic(match.group(1))
        with self._lock:
            topic.requests += 1
            fault = topic.fail_next.pop(0) if topic.fail_next else None
        if fault is not None:
            return self._refuse(topic, _error(fault, "InjectedFault", f"test fault {fault}"))
        if not request.query.get("api-version"):
            return self._refuse(topic, _error(400, "BadRequest", "api-version is required"))
        refused = self._authenticate(topic, request)
        if refused is not None:
            return self._refuse(topic, refused)
        if (request.content_length or 0) > MAX_BYTES:
            return self._refuse(topic, _error(413, "RequestEntityTooLarge", "over 1 MB"))
        raw = await request.read()
        if len(raw) > MAX_BYTES:
            return self._refuse(topic, _error(413, "RequestEntityTooLarge", "over 1 MB"))
        if not request.content_type.startswith("application/cloudevents-batch+json"):
            return self._refuse(
                topic,
                _error(
                    400, "BadRequest", "Content-Type must be application/cloudevents-batch+json"
                ),
            )
        try:
            events = _validated(raw)
        except TooLarge as exc:
            return self._refuse(topic, _error(413, "RequestEntityTooLarge", str(exc)))
        except ValueError as exc:
            return self._refuse(topic, _error(400, "BadRequest", str(exc)))
        with self._lock:
            topic.published += len(events)
        assert topic.deliveries is not None
        topic.deliveries.enqueue(events)
        return web.Response(status=200)

    def _refuse(self, topic: Topic, response: web.Response) -> web.Response:
        with self._lock:
            topic.refused += 1
        return response

    def _authenticate(self, topic: Topic, request: web.Request) -> web.Response | None:
        key = request.headers.get("aeg-sas-key")
        if key is not None:
            if not topic.local_auth:
                return _error(401, "Unauthorized", "local authentication is disabled")
            if secrets.compare_digest(key, topic.key):
                return None
            return _error(401, "Unauthorized", "the aeg-sas-key is not valid")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "Unauthorized", "no aeg-sas-key or bearer token")
        try:
            claims = self.directory.verify(auth.removeprefix("Bearer "), EVENT_GRID_AUDIENCE)
        except jwt.InvalidTokenError as exc:
            return _error(401, "Unauthorized", f"the token is not valid: {exc}")
        if claims.get("azp") not in topic.senders:
            return _error(
                403, "Forbidden", "the client has no EventGrid Data Sender role on the topic"
            )
        return None


class TooLarge(ValueError):
    """An event over 1 MB: 413, as Event Grid answers."""


def _validated(raw: bytes) -> list[dict[str, Any]]:
    try:
        events = json.loads(raw)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(events, list) or not events:
        raise ValueError("the body must be a non-empty JSON array of CloudEvents")
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"event {i} is not an object")
        missing = [k for k in _REQUIRED if not isinstance(event.get(k), str) or not event[k]]
        if missing:
            raise ValueError(f"event {i}: missing {', '.join(missing)}")
        if event["specversion"] != "1.0":
            raise ValueError(f"event {i}: specversion must be 1.0")
        bad = [k for k in event if k not in _CONTEXT and not _EXTENSION.match(k)]
        if bad:
            raise ValueError(f"event {i}: extension names must be lower-case alphanumeric: {bad}")
        if len(json.dumps(event)) > MAX_BYTES:
            raise TooLarge(f"event {i} is over 1 MB")
    return events
