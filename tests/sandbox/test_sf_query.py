"""SOQL on /query and /queryAll through simple-salesforce: subset, paging, errors."""

from __future__ import annotations

import pytest
from sbkit import sf_client
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

import sandbox


@pytest.fixture
def seeded(sb: sandbox.Sandbox) -> sandbox.Sandbox:
    sb.reset(seed=30)
    return sb


def test_query_all_pages_over_5000_records() -> None:
    with sandbox.run(seed=5000) as sb:
        sf = sf_client(sb)
        first = sf.query("SELECT Id, Name FROM Account ORDER BY Id")
        assert first["totalSize"] == 5000 and first["done"] is False
        assert len(first["records"]) == 2000
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        result = sf.query_all("SELECT Id, Name FROM Account ORDER BY Id")
        ids = [r["Id"] for r in result["records"]]
        assert len(ids) == 5000 == len(set(ids)) and ids == sorted(ids)
        pages = sb.stats()["salesforce"]["calls"]
        assert pages["GET /services/data/v59.0/query/{locator}"] == 2
        sized = sf.query(
            "SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=500"}
        )
        assert len(sized["records"]) == 500
        sf.session.close()


def test_parent_fields_child_subquery_and_count(sf: Salesforce, seeded: sandbox.Sandbox) -> None:
    res = sf.query(
        "SELECT Id, Name, Owner.Name, (SELECT Id, Email, Primary_Contact__c FROM Contacts "
        "ORDER BY CreatedDate) FROM Account WHERE Type != 'Prospect' LIMIT 5"
    )
    assert res["totalSize"] == 5
    for acc in res["records"]:
        assert acc["Owner"]["Name"] == "Ada Admin"
        contacts = acc["Contacts"]
        assert contacts["done"] is True and contacts["totalSize"] >= 1
        assert contacts["records"][0]["Primary_Contact__c"] is True
    con = sf.query("SELECT Id, Account.Name, Account.Owner.Name FROM Contact LIMIT 1")
    assert con["records"][0]["Account"]["attributes"]["type"] == "Account"
    assert con["records"][0]["Account"]["Owner"]["Name"] == "Ada Admin"
    count = sf.query("SELECT COUNT() FROM Account")
    assert count == {"totalSize": 30, "done": True, "records": []}


def test_where_operators_and_literals(sf: Salesforce) -> None:
    a = sf.Account.create({"Name": "O'Brien & Co", "NumberOfEmployees": 10})["id"]
    b = sf.Account.create({"Name": "50% off_deals", "NumberOfEmployees": 500})["id"]
    c = sf.Account.create({"Name": "Zeta", "Type": "Prospect"})["id"]

    def ids(q: str) -> set[str]:
        return {r["Id"] for r in sf.query_all(q)["records"]}

    assert ids(format_soql("SELECT Id FROM Account WHERE Name = {}", "o'brien & co")) == {a}
    assert ids("SELECT Id FROM Account WHERE NumberOfEmployees > 100") == {b}
    assert ids("SELECT Id FROM Account WHERE NumberOfEmployees <= 10") == {a}
    assert ids("SELECT Id FROM Account WHERE NumberOfEmployees = null") == {c}
    assert ids("SELECT Id FROM Account WHERE Type != null") == {c}
    assert ids(format_soql("SELECT Id FROM Account WHERE Name LIKE '{:like}%'", "50%")) == {b}
    assert ids("SELECT Id FROM Account WHERE Name LIKE '%co'") == {a}
    assert ids(format_soql("SELECT Id FROM Account WHERE Id IN {}", [a, c[:15]])) == {a, c}
    assert ids(format_soql("SELECT Id FROM Account WHERE Id NOT IN {}", [a])) == {b, c}
    assert ids(
        "SELECT Id FROM Account WHERE (Type = 'Prospect' OR NumberOfEmployees > 100) "
        "AND NOT Name LIKE 'x%'"
    ) == {b, c}
    assert ids("SELECT Id FROM Account WHERE CreatedDate > 2020-01-02T03:04:05Z") == {a, b, c}
    assert ids("SELECT Id FROM Account WHERE CreatedDate < 2020-01-02T03:04:05+01:00") == set()
    assert ids("SELECT Id FROM Account WHERE CreatedDate = TODAY") == {a, b, c}
    assert ids("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:3") == {a, b, c}
    ordered = sf.query("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS LAST")
    assert [r["Name"] for r in ordered["records"]] == ["50% off_deals", "O'Brien & Co", "Zeta"]
    page = sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1")
    assert [r["Name"] for r in page["records"]] == ["O'Brien & Co"]
    semi = sf.Contact.create({"LastName": "X", "AccountId": b})["id"]
    del semi
    assert ids("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)") == {b}


def test_query_all_sees_deleted(sf: Salesforce) -> None:
    aid = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(aid)
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    deleted = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert deleted["records"][0]["IsDeleted"] is True


@pytest.mark.parametrize(
    ("soql", "code", "token"),
    [
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "GROUP"),
        ("SELECT COUNT(Id) FROM Account", "MALFORMED_QUERY", "Id"),
        ("SELECT Id FROM Account WHERE Name = :name", "MALFORMED_QUERY", ":name"),
        ("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3", "MALFORMED_QUERY", "OR"),
        ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY", "FIELDS"),
        ("SELECT Id FROM Account WITH SECURITY_ENFORCED", "MALFORMED_QUERY", "WITH"),
        ("SELECT Foo__c FROM Account", "INVALID_FIELD", "Foo__c"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE", "Widget__c"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD", "CreatedDate"),
        ("SELECT Id FROM Account WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR", "nope"),
    ],
)
def test_unsupported_or_invalid_soql_is_400(
    sf: Salesforce, soql: str, code: str, token: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    [err] = exc.value.content
    assert err["errorCode"] == code
    assert token in err["message"]
