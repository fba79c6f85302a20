"""Finished spans as OTLP/protobuf bytes, written straight to the wire format.

The OTLP exporter builds a protobuf message object per span, attribute and value and then
serializes them: about 22 µs a span, a third of what a span cost the worker in all
(bench/onboarding.py). The wire format is simple enough to write directly (field numbers from
opentelemetry-proto's `trace.proto`, `common.proto` and `resource.proto`; encoding rules from
protobuf's "Encoding" guide): tags and lengths are varints, timestamps and flags fixed-width
little-endian. The bytes decode to the same `ExportTraceServiceRequest` the exporter's own
encoder makes (tests/telemetry/test_otlp_wire.py holds them equal, the official encoder and
opentelemetry-proto's parser being the referee).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http._common import _is_request_too_large
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

_logger = logging.getLogger(__name__)

_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
_SMALL = [bytes((n,)) for n in range(128)]

# Span.flags (trace.proto SpanFlags): the parent's is_remote is known, and whether it is true.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def _varint(value: int) -> bytes:
    if value < 128:
        # a negative int64 is written as its 64-bit two's complement
        return _SMALL[value] if value >= 0 else _varint(value + (1 << 64))
    out = bytearray()
    while value > 127:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return tag + _varint(len(payload)) + payload


_key_cache: dict[str, bytes] = {}


def _key(key: str) -> bytes:
    """KeyValue.key (field 1), encoded once per distinct key: keys repeat on every span."""
    encoded = _key_cache.get(key)
    if encoded is None:
        encoded = _field(b"\x0a", key.encode())
        if len(_key_cache) < 4096:
            _key_cache[key] = encoded
    return encoded


def _any_value(value: Any) -> bytes:
    """An AnyValue message (common.proto), as the exporter's `_encode_value` picks the field."""
    if value is None:
        return b""
    if value is True or value is False:
        return b"\x10\x01" if value else b"\x10\x00"  # bool_value = 2 (false: set, so written)
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())  # string_value = 1
    if isinstance(value, int):
        return b"\x18" + _varint(value)  # int_value = 3
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)  # double_value = 4
    if isinstance(value, bytes):
        return _field(b"\x3a", value)  # bytes_value = 7
    if isinstance(value, Sequence):
        items = b"".join(_field(b"\x0a", _any_value(item)) for item in value)
        return _field(b"\x2a", items)  # array_value = 5: ArrayValue.values = 1
    if isinstance(value, Mapping):
        pairs = b"".join(_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items())
        return _field(b"\x32", pairs)  # kvlist_value = 6: KeyValueList.values = 1
    raise TypeError(f"invalid attribute value type {type(value).__name__}")


def _key_value(key: str, value: Any) -> bytes:
    return _key(key) + _field(b"\x12", _any_value(value))  # value = 2


_pairs: dict[tuple[bytes, str, type, Any], bytes] = {}
"""Encoded attribute fields by (tag, key, value type, value): the same pairs come back span
after span (an onboarding's account and instance ids, the workflow, the step, the method)."""

_PAIRS_KEPT = 16384
_HASHABLE = (str, bool, int, float, bytes)


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    if not attributes:
        return b""
    out = []
    pairs = _pairs
    for key, value in attributes.items():
        kind = value.__class__
        cacheable = kind in _HASHABLE
        if cacheable:  # the value's type is part of the key: True == 1, and they encode apart
            field = pairs.get((tag, key, kind, value))
            if field is not None:
                out.append(field)
                continue
        try:
            pair = _key_value(key, value)
        except TypeError as error:  # the exporter's rule: log it, keep the rest
            _logger.error("Failed to encode key %s: %s", key, error)
            continue
        field = tag + _varint(len(pair)) + pair
        if cacheable:
            if len(pairs) >= _PAIRS_KEPT:
                pairs.clear()
            pairs[(tag, key, kind, value)] = field
        out.append(field)
    return b"".join(out)


def _flags(parent: Any) -> bytes:
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
    return _FIXED32(flags)


def _trace_state(trace_state: Any) -> str:
    return ",".join(f"{key}={value}" for key, value in trace_state.items()) if trace_state else ""


def encode_span(span: ReadableSpan) -> bytes:
    """One Span message (trace.proto)."""
    context = span.context
    assert context is not None
    out = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),  # trace_id = 1
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),  # span_id = 2
    ]
    state = _trace_state(context.trace_state)
    if state:
        out.append(_field(b"\x1a", state.encode()))  # trace_state = 3
    parent = span.parent
    if parent is not None:
        out.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))  # parent_span_id = 4
    if span.name:
        out.append(_field(b"\x2a", span.name.encode()))  # name = 5
    out.append(b"\x30" + _SMALL[span.kind.value + 1])  # kind = 6: the API's kinds shifted by one
    out.append(b"\x39" + _FIXED64(span.start_time or 0))  # start_time_unix_nano = 7
    out.append(b"\x41" + _FIXED64(span.end_time or 0))  # end_time_unix_nano = 8
    out.append(_attributes(b"\x4a", span.attributes))  # attributes = 9
    if span.dropped_attributes:
        out.append(b"\x50" + _varint(span.dropped_attributes))
    for event in span.events:  # events = 11
        body = b"\x09" + _FIXED64(event.timestamp)  # time_unix_nano = 1
        if event.name:
            body += _field(b"\x12", event.name.encode())  # name = 2
        body += _attributes(b"\x1a", event.attributes)  # attributes = 3
        if event.dropped_attributes:
            body += b"\x20" + _varint(event.dropped_attributes)
        out.append(_field(b"\x5a", body))
    if span.dropped_events:
        out.append(b"\x60" + _varint(span.dropped_events))
    for link in span.links:  # links = 13
        body = (
            b"\x0a\x10"
            + link.context.trace_id.to_bytes(16, "big")
            + b"\x12\x08"
            + link.context.span_id.to_bytes(8, "big")
            + _attributes(b"\x22", link.attributes)
        )
        if link.dropped_attributes:
            body += b"\x28" + _varint(link.dropped_attributes)
        out.append(_field(b"\x6a", body + b"\x35" + _flags(link.context)))
    if span.dropped_links:
        out.append(b"\x70" + _varint(span.dropped_links))
    status = span.status
    body = b""
    if status.description:
        body += _field(b"\x12", status.description.encode())  # message = 2
    if status.status_code.value:
        body += b"\x18" + _SMALL[status.status_code.value]  # code = 3
    out.append(_field(b"\x7a", body))  # status = 15
    out.append(b"\x85\x01" + _flags(parent))  # flags = 16, fixed32
    return b"".join(out)


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b""
    body = _field(b"\x0a", scope.name.encode()) if scope.name else b""
    if scope.version:
        body += _field(b"\x12", scope.version.encode())
    return body + _attributes(b"\x1a", scope.attributes)


def encode_request(spans: Iterable[ReadableSpan]) -> bytes:
    """An ExportTraceServiceRequest: spans grouped by resource, then instrumentation scope."""
    groups: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        scopes = groups.setdefault(id(resource), (resource, {}))[1]
        scopes.setdefault(id(scope), (scope, []))[1].append(_field(b"\x12", encode_span(span)))
    out = []
    for resource, scopes in groups.values():
        body = _field(b"\x0a", _attributes(b"\x0a", resource.attributes))  # resource = 1
        for scope, encoded in scopes.values():
            scope_spans = _field(b"\x0a", _scope(scope)) + b"".join(encoded)
            if scope is not None and scope.schema_url:
                scope_spans += _field(b"\x1a", scope.schema_url.encode())
            body += _field(b"\x12", scope_spans)  # scope_spans = 2
        if resource.schema_url:
            body += _field(b"\x1a", resource.schema_url.encode())
        out.append(_field(b"\x0a", body))  # resource_spans = 1
    return b"".join(out)


class WireSpanExporter(OTLPSpanExporter):
    """The OTLP/HTTP span exporter with `encode_request` in place of its message encoder.

    Everything else is the exporter's own: endpoint, headers, TLS, compression, timeout and
    request-size limit from its arguments and the `OTEL_EXPORTER_OTLP_*` settings, and its
    retries (through its HTTP client, the part of it that sends a serialized request).
    """

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE
        try:
            request = encode_request(spans)
        except Exception as error:
            _logger.error("Failed to encode span batch: %s", error)
            return SpanExportResult.FAILURE
        if _is_request_too_large(request, self._max_request_size):  # the exporter's limit
            _logger.warning(
                "Dropping span batch: %d bytes is over max_request_size %d",
                len(request),
                self._max_request_size,
            )
            return SpanExportResult.FAILURE
        sent = self._client.export(request)
        return SpanExportResult.SUCCESS if sent.success else SpanExportResult.FAILURE
