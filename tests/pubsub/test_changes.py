"""Pub/Sub change events (Avro, bitmaps) become the CometD JSON the app consumes."""

from __future__ import annotations

import json

import pytest

from crosswalk.pubsub.changes import ChangeSchema, ConversionError, decode_bitmap, to_cometd
from tests.pubsub.schemas import account_schema, encode, header

REPLAY = bytes.fromhex("00000000000a1b2c")


def _schema(extra: int = 0) -> tuple[dict, ChangeSchema]:
    raw = account_schema(extra)
    return raw, ChangeSchema.from_json("schema-1", json.dumps(raw))


def test_bitmap_names_top_level_and_compound_fields_as_documented() -> None:
    _, schema = _schema()

    names = decode_bitmap(["0x14", "3-0x12"], schema)

    assert names == ["Type", "BillingAddress.City", "BillingAddress.Country", "LastModifiedDate"]


def test_bitmap_over_a_wide_schema_reaches_fields_past_bit_64() -> None:
    _, schema = _schema(extra=150)
    # fields 0..7 fixed, Extra{i}__c at 8 + i: set Extra0, Extra70 and Extra149
    bitmap = hex((1 << 8) | (1 << 78) | (1 << 157))

    names = decode_bitmap([bitmap], schema)

    assert names == ["Extra0__c", "Extra70__c", "Extra149__c"]


def test_a_compound_bit_without_a_nested_entry_names_the_compound_itself() -> None:
    _, schema = _schema()

    assert decode_bitmap(["0x8"], schema) == ["BillingAddress"]


@pytest.mark.parametrize(
    ("bitmaps", "reason"),
    [
        (["14"], "0x-prefixed"),
        (["0xZZ"], "not hex"),
        ([hex(1 << 40)], "beyond"),
        (["0x2", "9-0x1"], "no field position"),
        (["0x2", "1-0x1"], "not compound"),
    ],
)
def test_a_bitmap_that_does_not_fit_the_schema_is_refused(bitmaps: list[str], reason: str) -> None:
    _, schema = _schema()

    with pytest.raises(ConversionError, match=reason):
        decode_bitmap(bitmaps, schema)


def test_create_carries_every_non_null_field_with_iso_datetimes() -> None:
    raw, schema = _schema()
    payload = encode(
        raw,
        {
            "ChangeEventHeader": header("CREATE"),
            **{f["name"]: None for f in raw["fields"][1:]},
            "Name": "Acme",
            "Type": "Prospect",
            "BillingAddress": {
                "Street": None,
                "City": "Oslo",
                "State": None,
                "PostalCode": None,
                "Country": "NO",
                "Latitude": None,
                "Longitude": None,
            },
            "LastModifiedDate": 1_714_559_400_123,
            "SLAExpirationDate__c": 19_844,
        },
    )

    event = to_cometd(schema, payload, REPLAY)

    assert event.event_id == "0002b5e2-aaaa-bbbb-cccc-000000000001:1"
    assert event.body["schema"] == "schema-1"
    assert event.body["event"] == {"replayId": "00000000000a1b2c"}
    body = event.body["payload"]
    assert body["ChangeEventHeader"]["changeType"] == "CREATE"
    assert body["ChangeEventHeader"]["changedFields"] == []
    assert {k: v for k, v in body.items() if k != "ChangeEventHeader"} == {
        "Name": "Acme",
        "Type": "Prospect",
        "BillingAddress": {"City": "Oslo", "Country": "NO"},
        "LastModifiedDate": "2024-05-01T10:30:00.123Z",
        "SLAExpirationDate__c": "2024-05-01",
    }


def test_update_keeps_only_changed_fields_and_nulled_ones_as_null() -> None:
    raw, schema = _schema()
    # changed: Type (2), LastModifiedDate (4), Phone (5, nulled), BillingAddress.City (3-0x2)
    payload = encode(
        raw,
        {
            "ChangeEventHeader": header(
                "UPDATE",
                changedFields=["0x34", "3-0x2"],
                nulledFields=["0x20"],
                diffFields=[],
            ),
            **{f["name"]: None for f in raw["fields"][1:]},
            "Type": "Customer - Direct",
            "BillingAddress": {
                "Street": None,
                "City": "Bergen",
                "State": None,
                "PostalCode": None,
                "Country": None,
                "Latitude": None,
                "Longitude": None,
            },
            "LastModifiedDate": 1_714_559_400_000,
        },
    )

    body = to_cometd(schema, payload, REPLAY).body["payload"]

    assert body["ChangeEventHeader"]["changedFields"] == [
        "Type",
        "BillingAddress.City",
        "LastModifiedDate",
        "Phone",
    ]
    assert body["ChangeEventHeader"]["nulledFields"] == ["Phone"]
    assert {k: v for k, v in body.items() if k != "ChangeEventHeader"} == {
        "Type": "Customer - Direct",
        "BillingAddress": {"City": "Bergen"},
        "LastModifiedDate": "2024-05-01T10:30:00.000Z",
        "Phone": None,
    }


@pytest.mark.parametrize("change_type", ["DELETE", "GAP_UPDATE", "GAP_CREATE"])
def test_delete_and_gap_events_carry_the_header_only(change_type: str) -> None:
    raw, schema = _schema()
    payload = encode(
        raw,
        {"ChangeEventHeader": header(change_type), **{f["name"]: None for f in raw["fields"][1:]}},
    )

    body = to_cometd(schema, payload, REPLAY).body["payload"]

    assert list(body) == ["ChangeEventHeader"]
    assert body["ChangeEventHeader"]["changeType"] == change_type


def test_undelete_carries_the_restored_record() -> None:
    raw, schema = _schema()
    payload = encode(
        raw,
        {
            "ChangeEventHeader": header("UNDELETE"),
            **{f["name"]: None for f in raw["fields"][1:]},
            "Name": "Back Again",
            "Type": "Customer - Direct",
        },
    )

    body = to_cometd(schema, payload, REPLAY).body["payload"]

    assert body["Name"] == "Back Again" and body["Type"] == "Customer - Direct"


def test_overflow_event_has_no_record_ids_and_passes_through() -> None:
    raw, schema = _schema()
    payload = encode(
        raw,
        {
            "ChangeEventHeader": header("GAP_OVERFLOW", recordIds=[]),
            **{f["name"]: None for f in raw["fields"][1:]},
        },
    )

    event = to_cometd(schema, payload, REPLAY)

    assert event.record_ids == []
    assert event.body["payload"]["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"


def test_bytes_that_are_not_the_schema_s_avro_are_a_conversion_error() -> None:
    _, schema = _schema()

    with pytest.raises(ConversionError, match="does not decode"):
        to_cometd(schema, b"\xff\xff\xff", REPLAY)


def test_a_schema_without_the_header_first_is_refused() -> None:
    with pytest.raises(ConversionError, match="field 0"):
        ChangeSchema.from_json(
            "s",
            json.dumps({"type": "record", "name": "X", "fields": [{"name": "a", "type": "int"}]}),
        )


def test_avro_logical_timestamps_and_dates_become_cometd_strings_too() -> None:
    raw = account_schema()
    for spec in raw["fields"]:
        if spec["name"] == "LastModifiedDate":
            spec.pop("doc")
            spec["type"] = ["null", {"type": "long", "logicalType": "timestamp-millis"}]
        if spec["name"] == "SLAExpirationDate__c":
            spec.pop("doc")
            spec["type"] = ["null", {"type": "int", "logicalType": "date"}]
    schema = ChangeSchema.from_json("schema-logical", json.dumps(raw))
    payload = encode(
        raw,
        {
            "ChangeEventHeader": header("CREATE"),
            **{f["name"]: None for f in raw["fields"][1:]},
            "LastModifiedDate": 1_714_559_400_123,
            "SLAExpirationDate__c": 19_844,
        },
    )

    body = to_cometd(schema, payload, REPLAY).body["payload"]

    assert body["LastModifiedDate"] == "2024-05-01T10:30:00.123Z"
    assert body["SLAExpirationDate__c"] == "2024-05-01"
