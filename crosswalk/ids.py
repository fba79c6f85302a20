"""The ids and addresses Crosswalk validates everywhere: Salesforce record ids (18 characters
after validation), D2C ids and e-mail addresses, as pydantic annotated types."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from crosswalk.salesforce_ids import KEY_PREFIXES, to_18


def _salesforce_id(sobject: str) -> AfterValidator:
    prefix = KEY_PREFIXES[sobject]

    def check(value: str) -> str:
        full = to_18(value)
        if not full.startswith(prefix):
            raise ValueError(f"a {sobject} id starts with {prefix}")
        return full

    return AfterValidator(check)


SalesforceAccountId = Annotated[str, _salesforce_id("Account")]
SalesforceContactId = Annotated[str, _salesforce_id("Contact")]
SalesforceLeadId = Annotated[str, _salesforce_id("Lead")]
SalesforceUserId = Annotated[str, _salesforce_id("User")]
D2CCustomerId = Annotated[str, Field(pattern=r"^cus_[0-9A-Za-z]{8,32}$")]
D2CUserId = Annotated[str, Field(pattern=r"^usr_[0-9A-Za-z]{8,32}$")]
Email = Annotated[
    str,
    Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    AfterValidator(lambda v: v.strip()),
]
