"""RFC 9457 problem details, raised anywhere in the D2C stand-in and rendered at the edge."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://d2c.example.com/problems/"


class Problem(Exception):
    """An error answer: ``application/problem+json`` with ``status``."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {title}: {detail or ''}")
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def validation(errors: list[dict[str, str]], detail: str = "The request is invalid") -> Problem:
    return Problem(400, "validation", "Validation failed", detail, errors)


def not_found(what: str = "customer") -> Problem:
    return Problem(404, "not-found", "Not found", f"No such {what}")
