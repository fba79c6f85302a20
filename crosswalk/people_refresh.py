"""A profile's people, refreshed from one read of the Account with its Contacts.

Used by the activities that read the Account (a Contact change, an account update): the read
and the profile write happen in one activity, so the Contacts' names and addresses never
enter an orchestration's input, output or history. Each refresh notes when its read began
(`people_read_at`); a refresh whose read began before the stored one's changes nothing, so
two refreshes of one account racing each other cannot leave the older picture behind. An
onboarding's profile write notes its read the same way and follows the same rule.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from crosswalk.erasure.gate import without_erased
from crosswalk.errors import PreconditionFailed, TransientError
from crosswalk.models import UnifiedProfile
from crosswalk.people import SourceSystem
from crosswalk.profiles.base import SYSTEM, ProfileStore
from crosswalk.salesforce_ids import to_18
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.services import services
from crosswalk.whole_profile import onboarded_people, people_after_read, read_is_older

ATTEMPTS = 5


def refresh_people(
    account: SalesforceAccount,
    *,
    read_at: datetime,
    gone: Collection[str] = (),
    store: ProfileStore | None = None,
) -> dict[str, Any]:
    """Write the people `account` lists into its profile (if it has one); counts only. The
    store is the configured one unless named."""
    svc = services()
    store, owner = store or svc.profiles, svc.settings.ownership.marketing_consent
    left = {to_18(contact) for contact in gone}
    for _ in range(ATTEMPTS):
        current = store.get(account.Id)
        if current is None:
            return {"sf_account_id": account.Id, "refreshed": False, "reason": "no profile"}
        if read_is_older(current.people_read_at, read_at):
            reason = "a read that began later already refreshed the people"
            return {"sf_account_id": account.Id, "refreshed": False, "reason": reason}
        people = people_after_read(current, account, owner, gone=left)
        wanted = without_erased(current.model_copy(update={"contacts": people}))
        if wanted.contacts == current.contacts:
            return {"sf_account_id": account.Id, "refreshed": False, "reason": "no change"}
        wanted = wanted.model_copy(update={"people_read_at": read_at})
        try:
            store.upsert(wanted, if_match=current.etag)
        except PreconditionFailed:
            continue
        return {
            "sf_account_id": account.Id,
            "refreshed": True,
            "people": len(wanted.contacts),
            "people_before": len(current.contacts),
        }
    raise TransientError(
        f"profile {account.Id} kept changing under the people refresh", system=SYSTEM, code="busy"
    )


def write_onboarded(
    store: ProfileStore, profile: UnifiedProfile, owner: SourceSystem | str
) -> UnifiedProfile:
    """Write an onboarding's profile (the saga's, a batch's); the stored version's etag
    guards against a concurrent writer, and its people stand if a later read wrote them."""
    for _ in range(ATTEMPTS):
        current = store.get(profile.sf_account_id)
        wanted = profile if current is None else onboarded_people(current, profile, owner)
        try:
            return store.upsert(without_erased(wanted), if_match=current.etag if current else None)
        except PreconditionFailed:
            continue
    raise TransientError(
        f"profile {profile.sf_account_id} kept changing under the write", system=SYSTEM, code="busy"
    )
