"""House rules of a watch room and what to do when someone breaks one.

Every message in a watch room buzzes hundreds of phones, so off-topic posts
("bedankt!", a lost cat, a sofa for sale) are the main thing moderators fight.
This module holds the policy only: rules are data (config/house_rules.toml,
per municipality with per-room overrides), :func:`decide` is a pure function
of one message's facts, and strikes are timestamps the caller stores.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.domain.durations import DurationError, parse_duration
from bot.resources import config_dir


class OffTopicKind(StrEnum):
    """What the classifier calls an off-topic message (its ``off_topic_kind``)."""

    THANKS_OK_EMOJI = "thanks_ok_emoji"
    GREETING = "greeting"
    SALES = "sales"
    LOST_PET = "lost_pet"
    SERVICE_QUESTION = "service_question"
    SOCIAL_EVENT = "social_event"
    CHIT_CHAT = "chit_chat"
    DISPUTE = "dispute"


FLOOD_RULE_ID = "flooding"


class RuleAction(StrEnum):
    """What breaking one rule does: climb the strike ladder, or only get a reminder."""

    LADDER = "ladder"
    REMIND = "remind"


class Penalty(StrEnum):
    NONE = "none"
    REMIND = "remind"
    MUTE = "mute"
    KICK = "kick"


class ReminderVia(StrEnum):
    THREAD = "thread"
    DM = "dm"


class DecisionReason(StrEnum):
    """Why :func:`decide` chose what it did; for logs and moderator audits."""

    ON_TOPIC = "on_topic"
    EXEMPT = "exempt"
    IN_THREAD = "in_thread"
    RULE_DISABLED = "rule_disabled"
    UNKNOWN_KIND = "unknown_kind"
    OFF_TOPIC = "off_topic"
    FLOOD = "flood"


@dataclass(frozen=True)
class LocalText:
    nl: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang``, Dutch when that language is missing."""
        return self.en if lang.lower().startswith("en") and self.en else self.nl


@dataclass(frozen=True)
class Rule:
    """One house rule; ``rule_id`` is the off-topic kind or :data:`FLOOD_RULE_ID`."""

    rule_id: str
    enabled: bool
    action: RuleAction
    label: LocalText  # short name: "Geen bedankjes"
    text: LocalText  # the rule as quoted in a reminder


@dataclass(frozen=True)
class FloodRule:
    rule: Rule
    max_messages: int
    window_seconds: int


@dataclass(frozen=True)
class LadderStep:
    strikes: int
    penalty: Penalty
    duration_s: int | None = None  # only for MUTE


@dataclass(frozen=True)
class Ladder:
    steps: tuple[LadderStep, ...]  # ascending by ``strikes``
    strike_window_s: int
    reminder_via: ReminderVia
    redact_off_topic: bool
    exempt_power_level: int
    threads_exempt: bool

    def step_for(self, strikes: int) -> LadderStep | None:
        """The highest step reached: strike 4 repeats strike 3's mute, strike 6 kicks again."""
        reached = [step for step in self.steps if step.strikes <= strikes]
        return reached[-1] if reached else None


@dataclass(frozen=True)
class HouseRules:
    kinds: Mapping[OffTopicKind, Rule]
    flood: FloodRule
    ladder: Ladder
    saar: LocalText  # Signaleer, Alarmeer 112, App, Reageer
    rules_text: LocalText  # what "!regels" shows


@dataclass(frozen=True)
class ConductDecision:
    penalty: Penalty
    reason: DecisionReason
    rule_id: str | None = None
    record_strike: bool = False  # caller stores a strike at the message's timestamp
    strikes: int = 0  # active strikes after this message
    duration_s: int | None = None
    redact: bool = False
    reminder_via: ReminderVia = ReminderVia.THREAD


def active_strikes(strike_times: Iterable[float], now: float, window_s: float) -> int:
    """Strikes still counting at ``now``: the ladder forgets what is older than the window."""
    return sum(1 for t in strike_times if now - window_s < t <= now)


def is_exempt(rules: HouseRules, *, power_level: int, is_police: bool, is_bot: bool) -> bool:
    """Moderators, police and the bot itself never get automatic penalties."""
    return is_bot or is_police or power_level >= rules.ladder.exempt_power_level


def decide(
    rules: HouseRules,
    *,
    power_level: int,
    is_police: bool,
    is_bot: bool,
    in_thread: bool,
    off_topic_kind: str | None,
    flooded: bool,
    strikes_in_window: int,
) -> ConductDecision:
    """What to do about one message.

    Flooding wins over off-topic (one message earns at most one strike) and is
    judged in threads too; off-topic messages in a thread are follow-up
    discussion, exempt unless ``threads_exempt`` is off.
    """
    ladder = rules.ladder

    def nothing(reason: DecisionReason, rule_id: str | None = None) -> ConductDecision:
        return ConductDecision(Penalty.NONE, reason, rule_id, strikes=strikes_in_window)

    if is_exempt(rules, power_level=power_level, is_police=is_police, is_bot=is_bot):
        return nothing(DecisionReason.EXEMPT)
    if flooded:
        rule = rules.flood.rule
        reason = DecisionReason.FLOOD
    elif off_topic_kind is None:
        return nothing(DecisionReason.ON_TOPIC)
    else:
        try:
            rule = rules.kinds[OffTopicKind(off_topic_kind)]
        except (ValueError, KeyError):
            return nothing(DecisionReason.UNKNOWN_KIND)
        if in_thread and ladder.threads_exempt:
            return nothing(DecisionReason.IN_THREAD, rule.rule_id)
        reason = DecisionReason.OFF_TOPIC
    if not rule.enabled:
        return nothing(DecisionReason.RULE_DISABLED, rule.rule_id)

    redact = reason is DecisionReason.OFF_TOPIC and ladder.redact_off_topic
    if rule.action is RuleAction.REMIND:
        return ConductDecision(
            Penalty.REMIND, reason, rule.rule_id, strikes=strikes_in_window,
            redact=redact, reminder_via=ladder.reminder_via,
        )  # fmt: skip
    strikes = strikes_in_window + 1
    step = ladder.step_for(strikes)
    return ConductDecision(
        penalty=step.penalty if step else Penalty.NONE,
        reason=reason,
        rule_id=rule.rule_id,
        record_strike=True,
        strikes=strikes,
        duration_s=step.duration_s if step else None,
        redact=redact,
        reminder_via=ladder.reminder_via,
    )


# --- loading ---------------------------------------------------------------------------


class HouseRulesError(ValueError):
    """The house rules file is missing or wrong; the message names the offending key."""


def _seconds(value: object) -> object:
    """Durations in the file may be "24h"/"30d" or plain seconds."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise ValueError(f"not a duration: {value!r} ({exc.code})") from exc
    return value


Seconds = Annotated[int, BeforeValidator(_seconds), Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class _TextModel(_Model):
    nl: str = Field(min_length=1)
    en: str = ""


class _RuleModel(_Model):
    enabled: bool = True
    action: RuleAction = RuleAction.LADDER
    label: _TextModel
    text: _TextModel


class _FloodModel(_RuleModel):
    max_messages: int = Field(default=6, ge=1, le=1000)
    window: Seconds = 60


class _StepModel(_Model):
    strikes: int = Field(ge=1)
    action: Literal["remind", "mute", "kick"]
    duration: Seconds | None = None

    @model_validator(mode="after")
    def _duration_only_for_mute(self) -> _StepModel:
        if self.action == "mute" and self.duration is None:
            raise ValueError('a mute step needs a duration, e.g. duration = "24h"')
        if self.action != "mute" and self.duration is not None:
            raise ValueError(f"a {self.action} step takes no duration")
        return self


def _default_steps() -> list[_StepModel]:
    return [
        _StepModel(strikes=1, action="remind"),
        _StepModel(strikes=3, action="mute", duration=24 * 3600),
        _StepModel(strikes=5, action="kick"),
    ]


class _LadderModel(_Model):
    steps: list[_StepModel] = Field(default_factory=_default_steps, min_length=1)
    strike_window: Seconds = 30 * 24 * 3600
    reminder_via: ReminderVia = ReminderVia.THREAD
    redact_off_topic: bool = False
    exempt_power_level: int = 50
    threads_exempt: bool = True

    @model_validator(mode="after")
    def _distinct_strikes(self) -> _LadderModel:
        counts = [step.strikes for step in self.steps]
        if len(counts) != len(set(counts)):
            raise ValueError("two steps have the same strikes count")
        return self


class _HouseRulesModel(_Model):
    saar: _TextModel
    rules_text: _TextModel
    flood: _FloodModel
    ladder: _LadderModel = Field(default_factory=_LadderModel)
    kinds: dict[OffTopicKind, _RuleModel]

    @model_validator(mode="after")
    def _every_kind(self) -> _HouseRulesModel:
        missing = [kind.value for kind in OffTopicKind if kind not in self.kinds]
        if missing:
            raise ValueError(f"kinds: missing {', '.join(missing)}")
        return self


def _text(model: _TextModel) -> LocalText:
    return LocalText(model.nl.strip(), model.en.strip())


def _rule(rule_id: str, model: _RuleModel) -> Rule:
    return Rule(rule_id, model.enabled, model.action, _text(model.label), _text(model.text))


def _to_house_rules(model: _HouseRulesModel) -> HouseRules:
    ladder = model.ladder
    steps = sorted(
        (LadderStep(s.strikes, Penalty(s.action), s.duration) for s in ladder.steps),
        key=lambda step: step.strikes,
    )
    return HouseRules(
        kinds=MappingProxyType({kind: _rule(kind.value, r) for kind, r in model.kinds.items()}),
        flood=FloodRule(
            _rule(FLOOD_RULE_ID, model.flood), model.flood.max_messages, model.flood.window
        ),
        ladder=Ladder(
            steps=tuple(steps),
            strike_window_s=ladder.strike_window,
            reminder_via=ladder.reminder_via,
            redact_off_topic=ladder.redact_off_topic,
            exempt_power_level=ladder.exempt_power_level,
            threads_exempt=ladder.threads_exempt,
        ),
        saar=_text(model.saar),
        rules_text=_text(model.rules_text),
    )


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else (lists included) is replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate(data: Mapping[str, Any], where: str) -> HouseRules:
    try:
        return _to_house_rules(_HouseRulesModel.model_validate(data))
    except ValidationError as exc:
        problems = "; ".join(
            f"{where}.{'.'.join(str(part) for part in err['loc'])}: {err['msg']}"
            if err["loc"]
            else f"{where}: {err['msg']}"
            for err in exc.errors()
        )
        raise HouseRulesError(problems) from None


@dataclass(frozen=True)
class HouseRulesBook:
    """The municipality's rules plus each watch room's overrides, all validated up front."""

    default: HouseRules
    rooms: Mapping[str, HouseRules]

    def for_room(self, room_id: str | None) -> HouseRules:
        return self.rooms.get(room_id, self.default) if room_id else self.default


def default_house_rules_path() -> Path:
    """``house_rules.toml`` in the editable config directory."""
    path = config_dir() / "house_rules.toml"
    if not path.is_file():
        raise HouseRulesError(f"house rules not found: {path}")
    return path


def parse_house_rules(data: Mapping[str, Any]) -> HouseRulesBook:
    """Validate already-loaded TOML data: a ``default`` table and optional ``rooms`` tables.

    Every room is validated now rather than when its first message arrives, so
    a typo in one room's override stops the bot at start-up with a clear error.
    """
    default = data.get("default")
    if not isinstance(default, Mapping):
        raise HouseRulesError("default: missing [default] table")
    unknown = sorted(set(data) - {"default", "rooms"})
    if unknown:
        raise HouseRulesError(f"{unknown[0]}: unknown top-level table")
    default_rules = _validate(default, "default")
    rooms = data.get("rooms", {})
    if not isinstance(rooms, Mapping):
        raise HouseRulesError("rooms: must be a table of room IDs")
    book_rooms: dict[str, HouseRules] = {}
    for room_id, override in rooms.items():
        if not isinstance(override, Mapping):
            raise HouseRulesError(f'rooms."{room_id}": must be a table')
        book_rooms[room_id] = _validate(_deep_merge(default, override), f'rooms."{room_id}"')
    return HouseRulesBook(default_rules, MappingProxyType(book_rooms))


def load_house_rules_book(path: Path | None = None) -> HouseRulesBook:
    path = path or default_house_rules_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise HouseRulesError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HouseRulesError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return parse_house_rules(data)
    except HouseRulesError as exc:
        raise HouseRulesError(f"{path}: {exc}") from None


def load_house_rules(path: Path | None = None, room_id: str | None = None) -> HouseRules:
    """The rules for ``room_id`` (the defaults when it has no overrides)."""
    return load_house_rules_book(path).for_room(room_id)
