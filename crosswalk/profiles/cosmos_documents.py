"""The documents the Cosmos DB profile store writes, and how a profile becomes one and back.

The layout: one container, partition key path `/sf_account_id`.
- a profile is a flat document, `id` = partition key = the 18-char Account id, `type` =
  "profile", the profile's fields as JSON plus `email_domain_lc` / `primary_email_lc` (folded
  copies for the case-insensitive lookups); Cosmos' own `_etag` is the profile's etag.
- a lookup entry is `{id: sf_account_id: "<kind>:<sha256>", type: "lookup", accounts: [...]}`
  (`lookup_key`): its own logical partition, so a read by D2C id, user id, e-mail or domain
  is a point read of the entry and a point read of the profile. A transactional batch is
  bound to one logical partition, so entries cannot be written in the profile's batch:
  `upsert` adds the new keys' entries before the profile and removes the dropped keys' after
  it, so a written profile is always findable; an entry left naming an Account whose profile
  dropped the key (a crash between the steps) is skipped by reads (the profile's own
  `lookup_keys` decide) and put right by `repair_lookups`.
- a tombstone of an erased person is `{id: sf_account_id: "tomb:<keyed hash>", type:
  "tombstone", at}`: a point read answers "was this person erased?".
- a reconciliation report is `{id, sf_account_id: "report:<run_id>", type: "report",
  started_at, report}`: its own logical partition, never mistaken for an Account (Account ids
  contain no colon), and no second container to provision, secure and pay for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crosswalk.models import ProfileStatus, ReconciliationReport, UnifiedProfile, utc_iso
from crosswalk.profiles.base import account_key, feed_stamp, fold, profile_lookup_keys, run_key

PARTITION_KEY_PATH = "/sf_account_id"
REPORT_PREFIX = "report:"
TOMBSTONE_PREFIX = "tomb:"


def to_document(profile: UnifiedProfile, changed_at: datetime) -> dict[str, Any]:
    """The Cosmos document for a profile (its etag is Cosmos' `_etag`, never stored twice)."""
    key = account_key(profile.sf_account_id)
    body = profile.model_dump(mode="json", exclude={"etag", "changed_at"})
    stamp = feed_stamp(changed_at)
    body.update(
        id=key,
        sf_account_id=key,
        type="profile",
        status=ProfileStatus(profile.status).value,
        email_domain_lc=fold(profile.email_domain),
        primary_email_lc=fold(profile.primary_email),
        lookup_keys=profile_lookup_keys(profile),
        changed_at=stamp,
        feed_key=f"{stamp}|{key}",
    )
    return body


def from_document(document: dict[str, Any]) -> UnifiedProfile:
    """A profile from its document; Cosmos system fields and our helpers are ignored."""
    profile = UnifiedProfile.model_validate(document)
    return profile.model_copy(update={"etag": document.get("_etag")})


def report_document(report: ReconciliationReport) -> dict[str, Any]:
    key = REPORT_PREFIX + run_key(report.run_id)
    return {
        "id": key,
        "sf_account_id": key,
        "type": "report",
        "run_id": report.run_id,
        "started_at": utc_iso(report.started_at.astimezone(UTC)),
        "report": report.model_dump(mode="json"),
    }
