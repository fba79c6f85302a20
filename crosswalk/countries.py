"""Country names as Salesforce users type them -> ISO 3166-1 alpha-2, which D2C requires.

Salesforce orgs without state/country picklists hold free text in `BillingCountry`; this table
covers the English short names, common variants and the codes themselves. An unknown value
is a mapping problem reported to a person, never guessed.
"""

from __future__ import annotations

import re

_NAMES: dict[str, str] = {
    "argentina": "AR",
    "australia": "AU",
    "austria": "AT",
    "belarus": "BY",
    "belgium": "BE",
    "brazil": "BR",
    "bulgaria": "BG",
    "canada": "CA",
    "chile": "CL",
    "china": "CN",
    "colombia": "CO",
    "croatia": "HR",
    "cuba": "CU",
    "cyprus": "CY",
    "czech republic": "CZ",
    "czechia": "CZ",
    "denmark": "DK",
    "egypt": "EG",
    "estonia": "EE",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "deutschland": "DE",
    "greece": "GR",
    "hong kong": "HK",
    "hungary": "HU",
    "iceland": "IS",
    "india": "IN",
    "indonesia": "ID",
    "iran": "IR",
    "ireland": "IE",
    "israel": "IL",
    "italy": "IT",
    "japan": "JP",
    "kenya": "KE",
    "latvia": "LV",
    "lithuania": "LT",
    "luxembourg": "LU",
    "malaysia": "MY",
    "malta": "MT",
    "mexico": "MX",
    "morocco": "MA",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "new zealand": "NZ",
    "nigeria": "NG",
    "north korea": "KP",
    "norway": "NO",
    "pakistan": "PK",
    "peru": "PE",
    "philippines": "PH",
    "poland": "PL",
    "portugal": "PT",
    "romania": "RO",
    "russia": "RU",
    "russian federation": "RU",
    "saudi arabia": "SA",
    "singapore": "SG",
    "slovakia": "SK",
    "slovenia": "SI",
    "south africa": "ZA",
    "south korea": "KR",
    "korea, republic of": "KR",
    "spain": "ES",
    "sweden": "SE",
    "switzerland": "CH",
    "syria": "SY",
    "taiwan": "TW",
    "thailand": "TH",
    "turkey": "TR",
    "türkiye": "TR",
    "ukraine": "UA",
    "united arab emirates": "AE",
    "uae": "AE",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "america": "US",
    "uruguay": "UY",
    "venezuela": "VE",
    "vietnam": "VN",
    "viet nam": "VN",
}
_CODES = frozenset(_NAMES.values())
_SPACES = re.compile(r"\s+")


def to_iso2(value: str | None) -> str | None:
    """The ISO code for a country name or code, or None when it is not one we know."""
    if value is None:
        return None
    text = _SPACES.sub(" ", value.strip())
    if len(text) == 2 and text.upper() in _CODES:
        return text.upper()
    return _NAMES.get(text.lower())
