"""The one configuration model of the bot.

Sources, strongest first: explicit arguments, ``BUURTBOT_*`` environment variables (nested with
``__``), a ``.env`` file, the TOML file given with ``--config`` (default
``config/buurtbot.toml``, optional), and the defaults below. Every knob is documented in
``config/buurtbot.example.toml``; keep the two in step.
"""

from __future__ import annotations

import importlib.util
import re
from contextvars import ContextVar
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

from bot.domain.alarm_test import WEEKDAYS

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


# -- Reports, data governance and operations (issue 13) -----------------------------------


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name like Europe/Amsterdam") from None
    return value


class ReportSettings(BaseModel):
    """Figures in chat (``!stats``), the weekly digest and ``buurtbot export``."""

    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        "Europe/Amsterdam", description="Weeks, days and hours in reports are local to this zone."
    )
    digest_enabled: bool = Field(
        True, description="Post the weekly digest in the coordination room."
    )
    digest_weekday: int = Field(1, ge=1, le=7, description="1 = Monday … 7 = Sunday.")
    digest_time: time = Field(time(8, 0), description="Local time of the weekly digest.")
    stats_max_days: int = Field(366, ge=1, le=3660, description="Largest period !stats accepts.")
    pseudonym_key: SecretStr | None = Field(
        None,
        description="Key of the keyed hash that pseudonymises user IDs in exports; unset: a "
        "random key is made once and kept in the database.",
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RetentionSettings(BaseModel):
    """How long each kind of personal data is kept (AVG/GDPR); purged daily at ``purge_time``.

    Strikes are kept as long as the house rules' strike window (they count for nothing after
    it). Aggregated figures (past digests, counts of anonymised incidents) have no personal
    data and stay.
    """

    incident_excerpt_days: int = Field(
        180, ge=1, le=3650, description="After this an incident keeps only room, time, category."
    )
    audit_days: int = Field(365, ge=1, le=3650)
    member_history_days: int = Field(
        400, ge=91, le=3650, description="How long a membership is remembered after leaving."
    )
    acceptances_after_leaving_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="House-rules acceptances (proof of consent) are kept while the member is "
        "in the room and this many days after they left.",
    )
    purge_time: time = Field(time(3, 30), description="Local time of the daily purge.")


class MonitoringSettings(BaseModel):
    """The operator's view: an HTTP endpoint with /metrics and /healthz, and log format."""

    http_enabled: bool = Field(False, description="Serve /metrics (Prometheus) and /healthz.")
    http_host: str = Field("127.0.0.1", description="Loopback unless you expose it on purpose.")
    http_port: int = Field(9464, ge=0, le=65535, description="0: any free port (tests).")
    healthy_sync_age_s: float = Field(
        120.0, gt=0, description="/healthz fails when the last good sync is older than this."
    )
    log_format: Literal["text", "json"] = "text"


# -- the privacy tip about recognisable faces in photos (issue 14) -------------------------
class FaceTipSettings(BaseModel):
    """A private tip to whoever posts a photo with a recognisable face in a watch room: the
    Autoriteit Persoonsgegevens says such photos belong with the police, not in a group of
    hundreds. Off by default; needs the optional ``faces`` extra (OpenCV, fully offline)."""

    enabled: bool = Field(False, description="Look for faces in photos posted in watch rooms.")
    interval_days: int = Field(
        30, ge=1, le=365, description="At most one tip per person in this many days."
    )
    max_image_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        le=200 * 1024 * 1024,
        description="Larger photos are not downloaded (nor checked).",
    )

    @model_validator(mode="after")
    def _detector_installed(self) -> FaceTipSettings:
        if self.enabled and importlib.util.find_spec("cv2") is None:
            raise ValueError(
                "enabled needs OpenCV: install the optional extra, pip install 'buurtwacht[faces]'"
            )
        return self


# -- Members: join requests and the house-rules gate -----------------------------------------


class AdmissionSettings(BaseModel):
    """Join requests (knocks now; postcode sign-ups and invitation codes use the same path)."""

    notify: Literal["coordination", "watch_room"] = Field(
        "coordination",
        description="Where a request is put to moderators: the coordination room, or a notice "
        "in the watch room itself that mentions its moderators (decisions follow in its thread).",
    )
    timezone: str = Field(
        "Europe/Amsterdam", description='Time zone of the times in decisions ("om 14:02").'
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone, e.g. Europe/Amsterdam") from None
        return value


class GroupSettings(BaseModel):
    """Watch groups the bot creates (``!nieuwegroep``), adopts (``!koppel``) and lists."""

    alias_prefix: str = Field(
        "buurtpreventie-",
        pattern=r"^[a-z0-9-]{0,40}$",
        description="Start of a new group's alias: !nieuwegroep Westwijk gets "
        "#buurtpreventie-westwijk:server.",
    )
    room_version: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9.\-]{1,32}$",
        description="Room version of new groups; unset: the homeserver's default (12 on "
        "Synapse 1.163).",
    )
    history_visibility: Literal["shared", "invited", "joined"] = Field(
        "shared",
        description="Who reads a new group's history: members only. 'shared': all members "
        "read everything since the group began; 'joined': only since they joined.",
    )
    events_default: int = Field(0, ge=0, le=100, description="Level needed to post.")
    invite: int = Field(50, ge=0, le=100, description="Level needed to invite (accept knocks).")
    kick: int = Field(50, ge=0, le=100)
    ban: int = Field(50, ge=0, le=100)
    redact: int = Field(50, ge=0, le=100, description="Level needed to remove others' messages.")
    overview_page_size: int = Field(25, ge=1, le=100, description="Groups per !overzicht page.")


# --- Growing the network: invitation codes, sign-up by postcode, monthly alarm test ---------


class InvitationSettings(BaseModel):
    """Invitation codes: Synapse registration tokens a moderator hands out with !uitnodiging."""

    public_homeserver: str | None = Field(
        None,
        description="The homeserver address residents type into Element; default: homeserver "
        "(set it when the bot reaches Synapse on an internal address).",
    )
    default_uses: int = Field(10, ge=1, le=1000, description="Uses of a code without [aantal].")
    default_days: int = Field(14, ge=1, le=365, description="Days a code is valid by default.")
    max_uses: int = Field(500, ge=1, le=10_000)
    max_days: int = Field(90, ge=1, le=365)

    @field_validator("public_homeserver")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else value


class SignupSettings(BaseModel):
    """Sign-up by postcode (!aanmelden in a direct chat with the bot)."""

    direct_chat_servers: list[str] = Field(
        default_factory=list,
        description="Servers besides the bot's own whose users may open a direct chat with the "
        "bot to sign up (direct-chat invites are accepted for nothing else).",
    )
    no_group_text: str | None = Field(
        None,
        max_length=2000,
        description="Answer when no group covers a postcode (how to start one, the "
        "municipality's contact); default: the catalogue text signup.no_group.",
    )


class AlarmTestSettings(BaseModel):
    """The monthly alarm test and its reach report."""

    enabled: bool = False
    day_of_month: int = Field(
        1,
        ge=1,
        le=31,
        description="Day of the month (29-31 mean the last day in shorter months); "
        "ignored when weekday is set.",
    )
    weekday: Literal[WEEKDAYS] | None = Field(  # type: ignore[valid-type]
        None, description="Instead of a day: the first such weekday of the month."
    )
    time: str = Field(
        "19:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time, in admission.timezone.",
    )
    window_hours: float = Field(24, gt=0, le=24 * 14, description="Hours until the report.")
    text: str = Field(
        "🔔 Maandelijkse test van de buurtpreventie — niet reageren", min_length=1, max_length=500
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
    face_tip: FaceTipSettings = Field(default_factory=FaceTipSettings)
    admission: AdmissionSettings = Field(default_factory=AdmissionSettings)
    groups: GroupSettings = Field(default_factory=GroupSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    # Growing the network (see the block above the class).
    admin_token: SecretStr | None = Field(
        None,
        description="Access token of a Synapse server admin, used only for the registration "
        "tokens behind invitation codes. Without it !uitnodiging explains the set-up.",
    )
    invitations: InvitationSettings = Field(default_factory=InvitationSettings)
    signup: SignupSettings = Field(default_factory=SignupSettings)
    alarm_test: AlarmTestSettings = Field(default_factory=AlarmTestSettings)
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
    def _moderators_can_moderate_new_groups(self) -> Settings:
        groups = self.groups
        for key in ("invite", "kick", "ban", "redact"):
            if getattr(groups, key) > self.moderator_power_level:
                raise ValueError(
                    f"groups.{key} ({getattr(groups, key)}) is above moderator_power_level "
                    f"({self.moderator_power_level}): a new group's moderators could not do it"
                )
        return self

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
