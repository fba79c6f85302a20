"""Org settings that change what a write may contain: restricted picklists, State and
Country/Territory Picklists, and duplicate rules on Contact and Lead.

Each is an org-by-org choice in Salesforce, so each is a switch here (``OrgRules``, set with
``Sandbox.salesforce_org_rules``); docs/sandbox.md names the sources and what is simplified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import SfError
from .sobject import SObjectType

# Salesforce's standard countries (ISO code -> integration value, the full name by default),
# the subset this stand-in knows; Salesforce ships 235 ("Standard Countries and Territories
# for Address Picklists").
COUNTRIES: dict[str, str] = {
    "AR": "Argentina", "AT": "Austria", "AU": "Australia", "BE": "Belgium", "BR": "Brazil",
    "CA": "Canada", "CH": "Switzerland", "CL": "Chile", "CN": "China", "CO": "Colombia",
    "CU": "Cuba", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark", "EG": "Egypt",
    "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GR": "Greece",
    "HK": "Hong Kong", "HU": "Hungary", "IE": "Ireland", "IL": "Israel", "IN": "India",
    "IR": "Iran, Islamic Republic of", "IS": "Iceland", "IT": "Italy", "JP": "Japan",
    "KP": "Korea, Democratic People's Republic of", "KR": "Korea, Republic of",
    "LU": "Luxembourg", "MX": "Mexico", "NL": "Netherlands", "NO": "Norway",
    "NZ": "New Zealand", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SE": "Sweden",
    "SG": "Singapore", "SY": "Syrian Arab Republic", "TR": "Turkey", "UA": "Ukraine",
    "US": "United States", "ZA": "South Africa",
}  # fmt: skip
# States and provinces (code -> integration value) of the countries Salesforce ships states
# for that this stand-in knows; a country without states here takes no state.
STATES: dict[str, dict[str, str]] = {
    "US": {
        "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
        "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
        "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
        "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
        "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
        "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
        "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
        "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
        "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
        "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
        "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
        "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    },
    "CA": {
        "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
        "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
        "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
        "SK": "Saskatchewan", "YT": "Yukon Territories",
    },
    "AU": {
        "ACT": "Australian Capital Territory", "NSW": "New South Wales",
        "NT": "Northern Territory", "QLD": "Queensland", "SA": "South Australia",
        "TAS": "Tasmania", "VIC": "Victoria", "WA": "Western Australia",
    },
}  # fmt: skip
_ADDRESSES = ("Billing", "Shipping", "Mailing", "")  # Lead's address has no prefix
_PROBLEM = "There's a problem with this {what}, even though it may appear correct. Please select a {what} from the list of valid {plural}."  # noqa: E501
DUPLICATE_MESSAGE = (
    "You're creating a duplicate record. We recommend you use an existing record instead."
)


@dataclass
class OrgRules:
    restricted_picklists: frozenset[str] = frozenset()  # "Account.Industry", ...
    state_country_picklists: bool = False
    duplicate_rules: bool = False  # the standard Contact and Lead duplicate rules, active
    concurrent_long_requests: int = 25  # Production orgs and sandboxes
    long_request_seconds: float = 20.0
    # Salesforce keeps audit stamps in whole seconds (docs/sandbox.md), so two writes in one
    # second share a stamp; False gives milliseconds
    whole_second_stamps: bool = True


def check_picklists(sobject: SObjectType, values: dict[str, Any], rules: OrgRules) -> None:
    """ "With a restricted picklist, only an admin can add or change values; users can't load
    or remove values through the API" (Metadata API, Picklist): an unknown value is refused."""
    for name, value in values.items():
        f = sobject.fields.get(name)
        if f is None or f.type != "picklist" or value is None:
            continue
        if f"{sobject.name}.{name}" in rules.restricted_picklists and value not in f.picklist:
            raise SfError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {value}",
                [name],
            )


def code_fields_written(sobject: SObjectType, values: dict[str, Any]) -> list[str]:
    return [
        name
        for name in values
        if name.endswith(("CountryCode", "StateCode")) and name in sobject.fields
    ]


def apply_addresses(
    sobject: SObjectType, values: dict[str, Any], record: dict[str, Any], rules: OrgRules
) -> None:
    """State and Country/Territory Picklists: the text fields take integration values only
    ("Integration values for standard states, countries, and territories default to the full
    ISO-standard names"), the code fields ISO codes, and each keeps the other in sync; other
    text is FIELD_INTEGRITY_EXCEPTION. `record` is the row after the write; fixed in place."""
    if not rules.state_country_picklists:
        written = code_fields_written(sobject, values)
        if written:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"No such column '{written[0]}' on sobject of type {sobject.name}",
                [written[0]],
            )
        return
    for prefix in _ADDRESSES:
        country, country_code = f"{prefix}Country", f"{prefix}CountryCode"
        state, state_code = f"{prefix}State", f"{prefix}StateCode"
        if country_code not in sobject.fields:
            continue
        touched = {country, country_code, state, state_code} & set(values)
        if not touched:
            continue
        code = _resolve(
            values, record, country, country_code, COUNTRIES, "country/territory", "countries"
        )
        _resolve(values, record, state, state_code, STATES.get(code or "", {}), "state", "states")


def _resolve(
    values: dict[str, Any],
    record: dict[str, Any],
    text: str,
    code_field: str,
    known: dict[str, str],
    what: str,
    plural: str,
) -> str | None:
    code = values.get(code_field) if code_field in values else None
    name = values.get(text) if text in values else None
    if code is not None:
        if code not in known:
            raise SfError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                _PROBLEM.format(what=what, plural=plural),
                [code_field],
            )
        if name is not None and name != known[code]:
            raise SfError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                _PROBLEM.format(what=what, plural=plural),
                [text],
            )
    elif name is not None:
        code = next((c for c, full in known.items() if full.lower() == str(name).lower()), None)
        if code is None:
            raise SfError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                _PROBLEM.format(what=what, plural=plural),
                [text],
            )
    elif text in values or code_field in values:  # cleared
        record.pop(text, None)
        record.pop(code_field, None)
        return None
    else:
        code = record.get(code_field)
        if code is not None and code not in known:  # the country changed under a state
            raise SfError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                _PROBLEM.format(what=what, plural=plural),
                [code_field],
            )
        return code
    record[code_field], record[text] = code, known[code]
    return code


def duplicates(
    sobject: SObjectType,
    record: dict[str, Any],
    rows: Iterable[dict[str, Any]],
    rules: OrgRules,
    allow_save: bool,
) -> None:
    """The standard duplicate rules on Contact and Lead, whose action is Allow with an alert:
    through the API the alert is an error unless ``Sforce-Duplicate-Rule-Header:
    allowSave=true`` ("The default value for all fields is false", Duplicate Rule Header).
    The matching rule is simplified to the same email with the same first and last name."""
    if not rules.duplicate_rules or sobject.name not in ("Contact", "Lead") or allow_save:
        return
    email = (record.get("Email") or "").lower()
    if not email:
        return
    key: Callable[[dict[str, Any]], tuple[str, str, str]] = lambda r: (  # noqa: E731
        (r.get("Email") or "").lower(),
        (r.get("FirstName") or "").lower(),
        (r.get("LastName") or "").lower(),
    )
    mine = key(record)
    found = [
        r["Id"]
        for r in rows
        if r["Id"] != record["Id"] and not r.get("IsDeleted") and key(r) == mine
    ]
    if found:
        rule = f"Standard_{sobject.name}_Duplicate_Rule"
        matches = [
            {
                "entityType": sobject.name,
                "matchRecords": [
                    {
                        "matchConfidence": 100.0,
                        "record": {"attributes": {"type": sobject.name}, "Id": rid},
                    }
                    for rid in found
                ],
                "rule": f"Standard_{sobject.name}_Match_Rule_v1_1",
                "size": len(found),
                "success": True,
            }
        ]
        result = {
            "allowSave": True,
            "duplicateRule": rule,
            "duplicateRuleEntityType": sobject.name,
            "errorMessage": DUPLICATE_MESSAGE,
            "matchResults": matches,
        }
        raise SfError(
            400, "DUPLICATES_DETECTED", DUPLICATE_MESSAGE, [], {"duplicateResult": result}
        )
