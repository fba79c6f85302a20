"""The Lake contract, run against every implementation (see conftest `lake`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crosswalk.errors import InvalidData, NotFound, PreconditionFailed
from crosswalk.lake import account_snapshot_path
from crosswalk.lake.base import Lake

SNAPSHOT = {"Id": "001000000000001AAA", "Name": "Acme", "AnnualRevenue": 1.5, "Tags": ["a"]}

BAD_PATHS = [
    "",
    "/raw/a.json",
    "../a.json",
    "raw/../../a.json",
    "raw/./a.json",
    "raw//a.json",
    "raw/a.json/",
    "raw\\a.json",
    "C:/raw/a.json",
    "raw/.hidden.json",
    "raw/a\x00.json",
]


# ---------------------------------------------------------------- snapshot paths


def test_account_snapshot_path_uses_the_utc_date_and_a_filesystem_safe_modstamp() -> None:
    modstamp = datetime(2024, 5, 2, 8, 0, 1, 987654, tzinfo=UTC)

    path = account_snapshot_path("001000000000001AAA", modstamp)

    assert path == "raw/salesforce/account/2024/05/02/001000000000001AAA-20240502T080001987Z.json"


def test_account_snapshot_path_converts_an_offset_modstamp_to_utc_first() -> None:
    modstamp = datetime(2024, 5, 2, 23, 30, tzinfo=timezone(timedelta(hours=-2)))

    path = account_snapshot_path("001000000000001AAA", modstamp)

    assert path == "raw/salesforce/account/2024/05/03/001000000000001AAA-20240503T013000000Z.json"


def test_account_snapshot_path_refuses_a_naive_modstamp() -> None:
    with pytest.raises(InvalidData):
        account_snapshot_path("001000000000001AAA", datetime(2024, 5, 2, 8, 0))


@pytest.mark.parametrize("bad_id", ["", "../001", "001/x", "001.json"])
def test_account_snapshot_path_refuses_an_id_that_is_not_a_plain_name(bad_id: str) -> None:
    with pytest.raises(InvalidData):
        account_snapshot_path(bad_id, datetime(2024, 5, 2, tzinfo=UTC))


# ---------------------------------------------------------------- contract


def test_put_json_then_get_json_round_trips(lake: Lake) -> None:
    path = account_snapshot_path("001000000000001AAA", datetime(2024, 5, 2, 8, tzinfo=UTC))

    uri = lake.put_json(path, SNAPSHOT)

    assert uri.endswith(path)
    assert lake.get_json(path) == SNAPSHOT


def test_put_json_writes_datetimes_as_iso_8601(lake: Lake) -> None:
    lake.put_json("raw/x/when.json", {"at": datetime(2024, 5, 2, 8, tzinfo=UTC)})

    assert lake.get_json("raw/x/when.json") == {"at": "2024-05-02T08:00:00+00:00"}


def test_put_json_of_the_same_content_twice_is_idempotent(lake: Lake) -> None:
    first = lake.put_json("raw/x/a.json", SNAPSHOT)

    second = lake.put_json("raw/x/a.json", dict(reversed(SNAPSHOT.items())))

    assert first == second
    assert lake.get_json("raw/x/a.json") == SNAPSHOT
    assert lake.list("raw/x/") == ["raw/x/a.json"]


def test_put_json_over_an_existing_path_replaces_the_document(lake: Lake) -> None:
    lake.put_json("raw/x/a.json", SNAPSHOT)

    lake.put_json("raw/x/a.json", {"Name": "Acme 2"})

    assert lake.get_json("raw/x/a.json") == {"Name": "Acme 2"}


def test_get_json_of_a_missing_path_is_not_found(lake: Lake) -> None:
    with pytest.raises(NotFound) as caught:
        lake.get_json("raw/x/missing.json")

    assert caught.value.system == "lake"


def test_exists_tells_whether_a_document_is_there(lake: Lake) -> None:
    lake.put_json("raw/x/a.json", SNAPSHOT)

    assert lake.exists("raw/x/a.json") is True
    assert lake.exists("raw/x/b.json") is False
    assert lake.exists("raw/x") is False  # a folder is not a document


def test_delete_returns_true_once_then_false(lake: Lake) -> None:
    lake.put_json("raw/x/a.json", SNAPSHOT)

    assert lake.delete("raw/x/a.json") is True
    assert lake.delete("raw/x/a.json") is False
    assert lake.exists("raw/x/a.json") is False


def test_list_returns_sorted_paths_under_a_prefix(lake: Lake) -> None:
    for path in ("raw/b/2.json", "raw/a/1.json", "raw/b/1.json", "raw/bb/1.json", "other/1.json"):
        lake.put_json(path, {"p": path})

    assert lake.list("raw/b/") == ["raw/b/1.json", "raw/b/2.json"]
    assert lake.list("raw/b") == ["raw/b/1.json", "raw/b/2.json", "raw/bb/1.json"]
    assert lake.list("raw/a/1") == ["raw/a/1.json"]
    assert lake.list("") == [
        "other/1.json",
        "raw/a/1.json",
        "raw/b/1.json",
        "raw/b/2.json",
        "raw/bb/1.json",
    ]


def test_list_of_a_prefix_with_nothing_under_it_is_empty(lake: Lake) -> None:
    assert lake.list("raw/nothing/") == []


@pytest.mark.parametrize("bad", BAD_PATHS, ids=repr)
def test_a_path_that_could_escape_the_lake_is_invalid_data(lake: Lake, bad: str) -> None:
    with pytest.raises(InvalidData):
        lake.put_json(bad, SNAPSHOT)
    with pytest.raises(InvalidData):
        lake.get_json(bad)
    with pytest.raises(InvalidData):
        lake.exists(bad)
    with pytest.raises(InvalidData):
        lake.delete(bad)


@pytest.mark.parametrize("bad", ["../", "/raw", "raw/../x"], ids=repr)
def test_a_listing_prefix_that_could_escape_the_lake_is_invalid_data(lake: Lake, bad: str) -> None:
    with pytest.raises(InvalidData):
        lake.list(bad)


@pytest.mark.parametrize(
    "document", [{"n": float("nan")}, {"s": {1, 2}}, ["not", "an", "object"]], ids=repr
)
def test_a_document_that_is_not_a_json_object_is_invalid_data(lake: Lake, document: object) -> None:
    with pytest.raises(InvalidData):
        lake.put_json("raw/x/a.json", document)  # type: ignore[arg-type]

    assert lake.exists("raw/x/a.json") is False


# ---------------------------------------------------------------- conditional writes


def test_write_if_creates_only_when_missing_and_then_needs_the_current_etag(lake: Lake) -> None:
    first = lake.write_if("relay/checkpoint.json", {"n": 1}, None)

    with pytest.raises(PreconditionFailed):
        lake.write_if("relay/checkpoint.json", {"n": 99}, None)
    second = lake.write_if("relay/checkpoint.json", {"n": 2}, first)
    with pytest.raises(PreconditionFailed):
        lake.write_if("relay/checkpoint.json", {"n": 3}, first)  # a stale writer

    assert lake.read_tagged("relay/checkpoint.json") == ({"n": 2}, second)


def test_read_tagged_of_a_missing_document_is_none(lake: Lake) -> None:
    assert lake.read_tagged("relay/none.json") is None
    assert lake.list("relay/") == []
