"""The pieces every settings group is built from: the base class, list parsing, the error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
    prefix: ClassVar[str] = ""  # its variables' prefix: model_config's env_prefix, said once

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.prefix = cls.model_config.get("env_prefix") or ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _POLICY_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings, file_secret_settings)

    @classmethod
    def from_policy(cls, values: Mapping[str, Any] | None) -> Self:
        """The group as a workflow's input carries it: those values and the defaults, never
        this process's environment (pydantic-settings reads it even in `model_validate`), so
        a replay decides alike on any instance; validated once per distinct value, since
        orchestrators rebuild their policy on every episode."""
        return _from_policy(cls, json.dumps(dict(values or {}), sort_keys=True, default=str))


_POLICY_ONLY: ContextVar[bool] = ContextVar("policy_only", default=False)


@lru_cache(maxsize=512)
def _from_policy(group: type[Group], values: str) -> Any:
    token = _POLICY_ONLY.set(True)
    try:
        return group.model_validate(json.loads(values))
    finally:
        _POLICY_ONLY.reset(token)


G = TypeVar("G", bound=Group)
