"""The pieces every settings group is built from: the base class, list parsing, the error."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from crosswalk.errors import ConfigurationError

CommaList = Annotated[list[str], NoDecode]


def split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def six_field_schedule(value: str) -> str:
    if len(value.split()) != 6:
        raise ValueError("NCRONTAB needs six fields, seconds first (e.g. '0 0 2 * * *')")
    return value


class SettingsError(ConfigurationError):
    """A setting is missing or invalid; the message names each environment variable."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{name}: {reason}" for name, reason in problems)
        super().__init__(f"invalid settings: {lines}")


class Group(BaseSettings):
    """A settings group: one env prefix, unknown variables ignored, values validated."""

    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, frozen=True, env_ignore_empty=True
    )
    prefix: ClassVar[str] = ""


G = TypeVar("G", bound=Group)
