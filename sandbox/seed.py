"""Realistic, deterministic demo data: N Accounts with 1-4 Contacts each.

The mix is what Crosswalk's rules care about: mostly customers, ~10% prospects; country
names mostly in English with a few ISO codes; ~10% credit limits above 250,000 (they need
approval), ~5% without a tax id; the first contact of each account is the primary one, with
an email at the account's own domain. One random stream in a fixed order, so ``seed=100`` is
the first 100 Accounts of ``seed=1000`` and every run makes the same data.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from .clock import sf_datetime
from .salesforce.ids import IdFactory
from .salesforce.store import Store

BASE_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z: seeded rows predate anything a test makes

_COUNTRIES: list[tuple[str, str, str, list[tuple[str, str | None, str]]]] = [
    # (country as stored, ISO code, legal suffix, [(city, state, postal code)])
    (
        "United States",
        "US",
        "Inc.",
        [
            ("Austin", "TX", "78701"),
            ("Denver", "CO", "80202"),
            ("Boston", "MA", "02110"),
            ("Seattle", "WA", "98101"),
        ],
    ),
    (
        "Germany",
        "DE",
        "GmbH",
        [("Berlin", None, "10115"), ("Munich", "Bavaria", "80331"), ("Hamburg", None, "20095")],
    ),
    ("France", "FR", "SAS", [("Paris", None, "75002"), ("Lyon", None, "69002")]),
    ("United Kingdom", "GB", "Ltd", [("London", None, "EC1A 1BB"), ("Leeds", None, "LS1 4AP")]),
    ("Netherlands", "NL", "B.V.", [("Amsterdam", None, "1012 AB"), ("Utrecht", None, "3511 AA")]),
    ("Canada", "CA", "Inc.", [("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V6B 1A1")]),
    ("Spain", "ES", "S.L.", [("Madrid", None, "28013"), ("Barcelona", None, "08002")]),
    ("Italy", "IT", "S.r.l.", [("Milan", "MI", "20121"), ("Rome", "RM", "00184")]),
    ("Japan", "JP", "K.K.", [("Tokyo", None, "100-0005"), ("Osaka", None, "530-0001")]),
    ("Australia", "AU", "Pty Ltd", [("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")]),
]
_COUNTRY_WEIGHTS = [30, 15, 8, 10, 6, 6, 5, 5, 5, 5]
_STEMS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Nakatomi",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Soylent",
    "Oscorp",
    "Monarch",
    "Stark",
    "Wayne",
    "Aperture",
    "Blue Harbor",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Litware",
    "Proseware",
    "Tailspin",
    "Adventure",
    "Alpine",
    "Summit",
    "Redwood",
    "Silverline",
    "Ironclad",
    "Brightwater",
]
_NOUNS = [
    "Logistics",
    "Foods",
    "Robotics",
    "Analytics",
    "Textiles",
    "Pharma",
    "Energy",
    "Systems",
    "Outfitters",
    "Supply",
    "Devices",
    "Materials",
    "Labs",
    "Networks",
    "Motors",
    "Partners",
]
_INDUSTRIES = [
    "Manufacturing",
    "Retail",
    "Technology",
    "Healthcare",
    "Food & Beverage",
    "Transportation",
    "Energy",
    "Consulting",
    "Electronics",
    "Apparel",
    "Chemicals",
    "Finance",
]
_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Katherine",
    "Tim",
    "Barbara",
    "Ken",
    "Dennis",
    "Frances",
    "Edsger",
    "Donald",
    "Radia",
    "Hedy",
    "John",
    "Sophie",
    "Lukas",
    "Emma",
    "Hiro",
    "Yuki",
    "Lucas",
    "Chloe",
    "Mateo",
    "Giulia",
    "Noah",
    "Olivia",
    "Liam",
    "Mia",
    "Finn",
]
_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Johnson",
    "Berners-Lee",
    "Liskov",
    "Thompson",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Knuth",
    "Perlman",
    "Lamarr",
    "Backus",
    "Wilson",
    "Schmidt",
    "Dubois",
    "Tanaka",
    "Sato",
    "Rossi",
    "Garcia",
    "Smith",
    "Brown",
    "Jansen",
    "Tremblay",
    "Martin",
    "Muller",
    "Kelly",
]
_TITLES = [
    "CFO",
    "Head of Procurement",
    "Purchasing Manager",
    "Operations Director",
    "CEO",
    "Accounts Payable",
    "Buyer",
    "IT Manager",
]
_SALUTATIONS = ["Mr.", "Ms.", "Dr.", None]


_STREETS = ["Main St", "Market St", "Harbour Rd", "Industrieweg", "Rue de la Paix"]


def _phone(rng: random.Random) -> str:
    return f"+{rng.randrange(1, 90)} {rng.randrange(100, 999)} {rng.randrange(1000000, 9999999)}"


@functools.cache
def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _tax_id(rng: random.Random, iso: str) -> str:
    digits = f"{rng.randrange(1_000_000_000):09d}"
    if iso == "US":
        return f"{digits[:2]}-{digits[2:]}"
    if iso == "NL":
        return f"NL{digits}B01"
    return f"{iso}{digits}"


def seed_org(
    store: Store, ids: IdFactory, count: int, owner_id: str, contacts_each: int | None = None
) -> None:
    """Write ``count`` Accounts and their Contacts straight into the store (no events);
    ``contacts_each`` fixes the Contacts per Account (the random stream stays the same)."""
    rng = random.Random(20240501)
    used_domains: set[str] = set()
    accounts = store.table("Account")
    contacts = store.table("Contact")
    for i in range(count):
        country, iso, suffix, cities = rng.choices(_COUNTRIES, _COUNTRY_WEIGHTS)[0]
        city, state, postal = rng.choice(cities)
        stem, noun = rng.choice(_STEMS), rng.choice(_NOUNS)
        name = f"{stem} {noun} {suffix}"
        domain = f"{_slug(stem)}{_slug(noun)}.example"
        if domain in used_domains:
            domain = f"{_slug(stem)}{_slug(noun)}{i}.example"
        used_domains.add(domain)
        roll = rng.random()
        kind = (
            "Prospect"
            if roll < 0.10
            else "Customer - Direct"
            if roll < 0.65
            else "Customer - Channel"
            if roll < 0.92
            else rng.choice(["Channel Partner / Reseller", "Other"])
        )
        created = BASE_MS + i * 37_000 + rng.randrange(30_000)
        modified = created + rng.randrange(30 * 86_400_000)
        created_s, modified_s = sf_datetime(created), sf_datetime(modified)
        stored_country = iso if iso in {"US", "DE"} and rng.random() < 0.2 else country
        credit_roll = rng.random()
        if credit_roll < 0.10:
            credit = float(rng.randrange(260, 2000) * 1000)
        else:
            credit = float(rng.randrange(5, 201) * 1000)
        aid = ids.new("001")
        acc: dict[str, Any] = {
            "Id": aid,
            "IsDeleted": False,
            "Name": name,
            "Type": kind,
            "Industry": rng.choice(_INDUSTRIES),
            "AccountNumber": f"CW-{100000 + i}",
            "Phone": _phone(rng),
            "Website": f"https://www.{domain}",
            "AnnualRevenue": float(rng.randrange(1, 500) * 100_000),
            "NumberOfEmployees": rng.randrange(5, 5000),
            "BillingStreet": f"{rng.randrange(1, 300)} {rng.choice(_STREETS)}",
            "BillingCity": city,
            "BillingPostalCode": postal,
            "BillingCountry": stored_country,
            "Credit_Limit__c": credit,
            "Payment_Terms_Days__c": float(rng.choice([30, 45, 60])),
            "Marketing_Consent__c": rng.random() < 0.4,
            "OwnerId": owner_id,
            "CreatedDate": created_s,
            "CreatedById": owner_id,
            "LastModifiedDate": modified_s,
            "LastModifiedById": owner_id,
            "SystemModstamp": modified_s,
        }
        if state:
            acc["BillingState"] = state
        if rng.random() >= 0.05:
            acc["Tax_Id__c"] = _tax_id(rng, iso)
        store.put("Account", aid, acc)
        how_many = rng.randint(1, 4)
        for n in range(contacts_each if contacts_each is not None else how_many):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            cid = ids.new("003")
            c_created = sf_datetime(created + (n + 1) * 1000)
            con: dict[str, Any] = {
                "Id": cid,
                "IsDeleted": False,
                "AccountId": aid,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Title": rng.choice(_TITLES),
                "Phone": acc["Phone"],
                "HasOptedOutOfEmail": rng.random() < 0.1,
                "Primary_Contact__c": n == 0,
                "MailingCity": city,
                "MailingCountry": stored_country,
                "OwnerId": owner_id,
                "CreatedDate": c_created,
                "CreatedById": owner_id,
                "LastModifiedDate": c_created,
                "LastModifiedById": owner_id,
                "SystemModstamp": c_created,
            }
            salutation = rng.choice(_SALUTATIONS)
            if salutation:
                con["Salutation"] = salutation
            if n == 0 or rng.random() < 0.8:
                con["Email"] = f"{_slug(first)}.{_slug(last)}{n or ''}@{domain}"
            store.put("Contact", cid, con)
    del accounts, contacts
