"""The one configuration model of the bot.

Sources, strongest first: explicit arguments, ``BUURTBOT_*`` environment variables (nested with
``__``), a ``.env`` file, the TOML file given with ``--config`` (default
``config/buurtbot.toml``, optional), and the defaults below. Every knob is documented in
``config/buurtbot.example.toml``; keep the two in step.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("config/buurtbot.toml")

# The grammar of the spec's user IDs, including historical characters; servers may carry a port.
USER_ID_RE = re.compile(r"^@[\x21-\x39\x3b-\x7e]+:[A-Za-z0-9.\-\[\]:]+$")
# Room version 12 IDs carry no server part ("!<hash>"); older ones are "!opaque:server".
ROOM_ID_RE = re.compile(r"^![^:\s]+(:[A-Za-z0-9.\-\[\]:]+)?$")
ROOM_ALIAS_RE = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
INVITER_PATTERN_RE = re.compile(r"^(@[\x21-\x39\x3b-\x7e]+|\*):[A-Za-z0-9.\-\[\]:*]+$")

_toml_file: ContextVar[Path] = ContextVar("toml_file", default=DEFAULT_CONFIG_FILE)


class SettingsError(Exception):
    """A configuration problem, phrased for the operator: one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _user_id(value: str) -> str:
    if not USER_ID_RE.match(value) or len(value.encode()) > 255:
        raise ValueError(f"{value!r} is not a Matrix user ID like @name:example.org")
    return value


def _inviter(value: str) -> str:
    if not INVITER_PATTERN_RE.match(value):
        raise ValueError(f"{value!r} is neither a user ID (@name:server) nor a pattern (*:server)")
    return value


UserId = Annotated[str, AfterValidator(_user_id)]
InviterPattern = Annotated[str, AfterValidator(_inviter)]


class IncidentSettings(BaseModel):
    """How the bot reacts to reports in watch rooms."""

    stale_after_seconds: int = Field(
        900,
        ge=0,
        description="Events older than this (after downtime) are logged but trigger no 112 "
        "reminder and no coordination alert.",
    )
    emergency_number: str = Field(
        "112",
        pattern=r"^\d{3,4}$",
        description="The number the SAAR reminder names; 101 for Belgian police zones. "
        "Per room it can be changed with !nummer.",
    )
    acknowledge_reaction: str = Field("👀", min_length=1, max_length=16)
    excerpt_length: int = Field(160, ge=20, le=500)
    retention_days: int = Field(
        90, ge=1, le=3650, description="Incident records older than this are deleted (AVG/GDPR)."
    )


class EncryptionSettings(BaseModel):
    """Sharing room keys ahead of time (see bot/matrix/keysharing.py)."""

    background_rooms: int = Field(
        2,
        ge=1,
        le=16,
        description="Encrypted rooms whose megolm session is shared in the background at once.",
    )
    devices_per_request: int = Field(
        250, ge=20, le=2000, description="Room-key messages per /sendToDevice request."
    )
    claim_retry_seconds: float = Field(
        3600,
        ge=0,
        description="A device whose one-time keys had run out is claimed again after this long.",
    )
    crypto_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "ERROR",
        description="Level of matrix-nio's crypto loggers (they warn once per device per share).",
    )


class Settings(BaseSettings):
    """Everything an operator can set. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(
        env_prefix="BUURTBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        validate_default=True,
    )

    homeserver: str = Field(
        description="Client-server API base URL, e.g. https://matrix.example.nl"
    )
    user_id: UserId = Field(description="The bot's Matrix ID, e.g. @buurtbot:example.nl")
    password: SecretStr | None = Field(None, description="Used only on the first login.")
    access_token: SecretStr | None = Field(
        None, description="Alternative to a password; needs device_id too for E2EE continuity."
    )
    device_id: str | None = Field(None, description="Device ID that belongs to access_token.")
    device_name: str = "Buurtwacht"
    data_dir: Path = Field(Path("data"), description="Database, crypto store; back it up.")
    coordination_room: str | None = Field(
        None, description="Room ID (!id:server) or alias (#name:server) of the beheerdersgroep."
    )
    police_users: list[UserId] = Field(default_factory=list)
    allowed_inviters: list[InviterPattern] = Field(default_factory=list)
    language: Literal["nl", "en"] = "nl"
    moderator_power_level: int = Field(50, ge=1, le=100)
    command_prefix: str = Field("!", min_length=1, max_length=3)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sync_timeout_ms: int = Field(30_000, ge=1_000, le=120_000)
    max_backoff_seconds: float = Field(60.0, gt=0, le=600)
    vocabulary_dir: Path | None = Field(
        None, description="Classifier vocabulary directory; default config/vocabulary."
    )
    house_rules_file: Path | None = Field(
        None,
        description="House rules (TOML, per room overridable); default config/house_rules.toml.",
    )
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    encryption: EncryptionSettings = Field(default_factory=EncryptionSettings)

    @field_validator("homeserver")
    @classmethod
    def _homeserver_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("coordination_room")
    @classmethod
    def _room_reference(cls, value: str | None) -> str | None:
        if value is not None and not (ROOM_ID_RE.match(value) or ROOM_ALIAS_RE.match(value)):
            raise ValueError(
                f"{value!r} is neither a room ID (!id:server) nor alias (#name:server)"
            )
        return value

    @model_validator(mode="after")
    def _has_credentials(self) -> Settings:
        if self.password is None and self.access_token is None:
            raise ValueError("set either password or access_token")
        return self

    @property
    def database_path(self) -> Path:
        return self.data_dir / "buurtbot.sqlite3"

    @property
    def crypto_store_dir(self) -> Path:
        return self.data_dir / "crypto"

    def is_police(self, user_id: str) -> bool:
        return user_id in self.police_users

    def inviter_allowed(self, user_id: str) -> bool:
        """Exact user IDs or ``*:server`` patterns; the server part must match exactly."""
        server = user_id.split(":", 1)[1] if ":" in user_id else ""
        return any(
            pattern == user_id or (pattern.startswith("*:") and pattern[2:] == server)
            for pattern in self.allowed_inviters
        )

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets masked, for ``check-config``."""
        return self.model_dump(mode="json")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_file.get())
        return init_settings, env_settings, dotenv_settings, toml, file_secret_settings


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning pydantic's errors into one line per bad key.

    An explicitly named config file must exist; the default one is optional so the bot can run
    from environment variables alone (the Docker path).
    """
    if config_file is not None and not config_file.is_file():
        raise SettingsError([f"--config: no such file: {config_file}"])
    token = _toml_file.set(config_file or DEFAULT_CONFIG_FILE)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError([_describe(error) for error in exc.errors()]) from None
    except ValueError as exc:  # e.g. a TOML syntax error or malformed JSON list in the env
        raise SettingsError([f"configuration: {exc}"]) from None
    finally:
        _toml_file.reset(token)


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "configuration"
    env = "BUURTBOT_" + "__".join(str(p).upper() for p in error["loc"]) if error["loc"] else ""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    if error["type"] == "extra_forbidden":
        message = "is not a known setting"
    hint = f" (env {env})" if env else ""
    return f"{key}{hint}: {message}"
