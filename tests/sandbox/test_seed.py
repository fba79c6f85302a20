"""Seeded demo data: the mix Crosswalk's rules care about, deterministic across runs."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import sandbox

FULL = {
    "United States",
    "Germany",
    "France",
    "United Kingdom",
    "Netherlands",
    "Canada",
    "Spain",
    "Italy",
    "Japan",
    "Australia",
}


def test_seeded_accounts_and_contacts() -> None:
    with sandbox.run(seed=1000) as sb:
        accounts = sb.salesforce_records("Account")
        contacts = sb.salesforce_records("Contact")
        assert len(accounts) == 1000
        types = Counter(a["Type"] for a in accounts)
        assert 60 <= types["Prospect"] <= 140
        assert types["Customer - Direct"] + types["Customer - Channel"] >= 750
        countries = Counter(a["BillingCountry"] for a in accounts)
        assert set(countries) <= FULL | {"US", "DE"}
        assert 10 <= countries["US"] + countries["DE"] <= 150
        big = [a for a in accounts if a["Credit_Limit__c"] > 250_000]
        assert 60 <= len(big) <= 140
        no_tax = [a for a in accounts if a["Tax_Id__c"] is None]
        assert 20 <= len(no_tax) <= 80
        normal = [a for a in accounts if a["Credit_Limit__c"] <= 250_000]
        assert all(5_000 <= a["Credit_Limit__c"] <= 200_000 for a in normal)
        assert {a["Payment_Terms_Days__c"] for a in accounts} == {30.0, 45.0, 60.0}
        by_account: dict[str, list[dict]] = {}
        for c in contacts:
            by_account.setdefault(c["AccountId"], []).append(c)
        assert set(by_account) == {a["Id"] for a in accounts}
        assert all(1 <= len(v) <= 4 for v in by_account.values())
        for a in accounts:
            first = by_account[a["Id"]][0]
            domain = urlsplit(a["Website"]).hostname.removeprefix("www.")  # type: ignore[union-attr]
            assert first["Primary_Contact__c"] is True
            assert first["Email"].endswith("@" + domain)
            assert sum(c["Primary_Contact__c"] for c in by_account[a["Id"]]) == 1
        assert all(a["CreatedDate"] < "2025" for a in accounts)
        first_ids = [a["Id"] for a in accounts[:10]]
    with sandbox.run(seed=10) as again:
        assert [a["Id"] for a in again.salesforce_records("Account")] == first_ids
        names = [a["Name"] for a in again.salesforce_records("Account")]
        again.reset()
        assert [a["Name"] for a in again.salesforce_records("Account")] == names
