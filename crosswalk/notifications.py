"""What Crosswalk tells people, and in which words: plain data in, a chat message out.

Messages name the account (a company, not a person) and link to the support console; they
never carry personal data such as emails or phone numbers, because chat channels are wider
audiences than the console's masking rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote


class NotificationKind(StrEnum):
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_ESCALATED = "approval_escalated"
    APPROVAL_TIMED_OUT = "approval_timed_out"
    NEEDS_ATTENTION = "needs_attention"


_TITLES = {
    NotificationKind.APPROVAL_REQUESTED: "Approval needed",
    NotificationKind.APPROVAL_ESCALATED: "Approval overdue",
    NotificationKind.APPROVAL_TIMED_OUT: "Approval timed out: onboarding rejected",
    NotificationKind.NEEDS_ATTENTION: "Needs attention: an undo keeps failing",
}


@dataclass(frozen=True, slots=True)
class Notification:
    kind: NotificationKind
    account_id: str
    instance_id: str
    account_name: str | None = None
    reasons: list[str] = field(default_factory=list)
    deadline: str | None = None
    escalation: int | None = None
    detail: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Notification:
        """The activity input, as the orchestrator sends it."""
        return cls(
            kind=NotificationKind(payload["kind"]),
            account_id=str(payload["account_id"]),
            instance_id=str(payload["instance_id"]),
            account_name=payload.get("account_name"),
            reasons=[_reason(r) for r in payload.get("reasons") or []],
            deadline=payload.get("deadline"),
            escalation=payload.get("escalation"),
            detail=payload.get("detail"),
        )

    @property
    def title(self) -> str:
        return _TITLES[self.kind]

    def text(self, console_url: str | None) -> str:
        """The message, in Markdown that Teams and Slack both render."""
        who = f"{self.account_name} ({self.account_id})" if self.account_name else self.account_id
        lines = [f"**{self.title}**: Account {who}"]
        if self.reasons:
            lines.append("Why: " + "; ".join(self.reasons))
        if self.escalation:
            lines.append(f"Reminder {self.escalation}")
        if self.deadline:
            lines.append(f"Decide before {self.deadline}")
        if self.detail:
            lines.append(self.detail[:300])
        lines.append(f"Instance {self.instance_id}")
        if console_url:
            lines.append(f"Open: {console_url.rstrip('/')}#/record/{quote(self.account_id)}")
        return "\n\n".join(lines)

    def chat_body(self, console_url: str | None) -> dict[str, Any]:
        """`text` for the chat; `crosswalk` for a workflow that wants the fields themselves."""
        return {
            "text": self.text(console_url),
            "crosswalk": {
                "kind": str(self.kind),
                "accountId": self.account_id,
                "instanceId": self.instance_id,
                "reasons": self.reasons,
                "deadline": self.deadline,
            },
        }


def _reason(reason: Any) -> str:
    """Approval reasons travel as {code, message}; anything else as its text."""
    if isinstance(reason, dict):
        return str(reason.get("message") or reason.get("code") or reason)
    return str(reason)


def digest_body(items: list[dict[str, Any]], console_url: str | None) -> dict[str, Any]:
    """The hourly support digest (crosswalk/support/health.py `attention`) as a chat message."""
    base = console_url.rstrip("/") if console_url else None
    lines = ["**Crosswalk: waiting for a person**"]
    for item in items:
        link = f" ({base}{item['page']})" if base else ""
        lines.append(f"- {item['count']} {item['text']}{link}")
    return {
        "text": "\n".join(lines),
        "crosswalk": {"kind": "support_digest", "attention": items},
    }
