"""How the client lays calls out to fit Salesforce's limits: chunks, query pages, SOQL length."""

from __future__ import annotations

from urllib.parse import quote_plus

from crosswalk.clients.salesforce_limits import (
    SOQL_MAX_CHARS,
    URI_BUDGET,
    address_fields,
    collection_calls,
    query_pages,
    soql_in_batches,
)


def _record(sobject: str, record_id: str, **fields: str) -> dict:
    return {"attributes": {"type": sobject}, "Id": record_id, **fields}


def test_interleaved_types_become_one_chunk_per_type_per_call():
    records = [
        r
        for n in range(300)
        for r in (_record("Account", f"001{n:04d}"), _record("Contact", f"003{n:04d}"))
    ]

    calls = collection_calls(records)

    assert [len(c) for c in calls] == [200, 200, 200]
    for call in calls:
        types = [r["attributes"]["type"] for r in call]
        chunks = 1 + sum(1 for n in range(1, len(types)) if types[n] != types[n - 1])
        assert chunks <= 2


def test_one_id_twice_is_sent_once_with_both_changes():
    records = [_record("Account", "001A", Phone="1"), _record("Account", "001A", Website="w")]

    (call,) = collection_calls(records)

    assert call == [_record("Account", "001A", Phone="1", Website="w")]


def test_child_rows_count_toward_a_query_page():
    assert query_pages([2] * 666) == 1  # 666 x 3 = 1,998 rows
    assert query_pages([2] * 667) == 2
    assert query_pages([2] * 2000) == 4  # not ceil(2000 / 2000) = 1
    assert query_pages([0] * 2000) == 1
    assert query_pages([]) == 0


def test_a_long_list_of_values_is_split_into_queries_that_fit_the_uri():
    emails = [f"o'neil.{n}@example-{n}.com" for n in range(4000)]

    queries = list(soql_in_batches("SELECT Id FROM Contact WHERE Email IN {}", emails))

    assert len(queries) > 1
    assert all(len(q) <= SOQL_MAX_CHARS and len(quote_plus(q)) <= URI_BUDGET for q in queries)
    assert sum(q.count("@") for q in queries) == 4000
    assert all("o\\'neil" in q for q in queries)  # escaped, never raw


def test_with_country_picklists_codes_go_to_code_fields_and_names_stay_text():
    fields = {"BillingCountry": "DE", "BillingState": "Bavaria", "BillingCity": "Munich"}
    cleared = {"BillingCountry": None, "BillingState": None}

    assert address_fields(fields, picklists=False) == fields
    assert address_fields(fields, picklists=True) == {
        "BillingCountryCode": "DE",
        "BillingState": "Bavaria",
        "BillingCity": "Munich",
    }
    assert address_fields({"BillingState": "NSW"}, picklists=True) == {"BillingStateCode": "NSW"}
    assert address_fields(cleared, picklists=True) == {
        "BillingCountryCode": None,
        "BillingStateCode": None,
    }


def test_more_than_ten_types_never_make_an_eleventh_chunk():
    records = [_record(f"Type{n:02d}__c", f"a{n:02d}{i}") for n in range(12) for i in range(3)]

    calls = collection_calls(records)

    assert [len(c) for c in calls] == [30, 6]
    assert sum(len(c) for c in calls) == 36
