"""House rules: what a resident experiences when they post off-topic or flood the room."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.domain.conduct import (
    FLOOD_RULE_ID,
    DecisionReason,
    HouseRules,
    HouseRulesError,
    OffTopicKind,
    Penalty,
    ReminderVia,
    active_strikes,
    decide,
    default_house_rules_path,
    load_house_rules,
    load_house_rules_book,
    parse_house_rules,
)
from bot.domain.flood import FloodDetector

CONFIG = Path(__file__).resolve().parents[2] / "config" / "house_rules.toml"
DAY = 86400
ROOM = "!watch:example.org"


@pytest.fixture(scope="module")
def rules() -> HouseRules:
    return load_house_rules(CONFIG)


def resident(rules: HouseRules, kind: str | None, strikes: int = 0, **overrides: object):
    facts: dict[str, object] = {
        "power_level": 0,
        "is_police": False,
        "is_bot": False,
        "in_thread": False,
        "off_topic_kind": kind,
        "flooded": False,
        "strikes_in_window": strikes,
    }
    facts.update(overrides)
    return decide(rules, **facts)  # type: ignore[arg-type]


def write_rules(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "house_rules.toml"
    path.write_text(CONFIG.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


# --- decisions per rule kind ------------------------------------------------------------


def test_an_ordinary_report_is_left_alone(rules: HouseRules) -> None:
    decision = resident(rules, None)
    assert decision.penalty is Penalty.NONE
    assert decision.reason is DecisionReason.ON_TOPIC
    assert not decision.record_strike and not decision.redact


@pytest.mark.parametrize("kind", ["thanks_ok_emoji", "greeting"])
def test_thanks_and_greetings_only_get_a_friendly_reminder(rules: HouseRules, kind: str) -> None:
    decision = resident(rules, kind, strikes=4)
    assert decision.penalty is Penalty.REMIND
    assert decision.rule_id == kind
    assert not decision.record_strike, "a 'bedankt' must never lead to a mute"
    assert decision.strikes == 4


@pytest.mark.parametrize(
    "kind", ["sales", "lost_pet", "service_question", "social_event", "chit_chat", "dispute"]
)
def test_other_off_topic_kinds_count_a_strike_and_remind_first(
    rules: HouseRules, kind: str
) -> None:
    decision = resident(rules, kind)
    assert decision.penalty is Penalty.REMIND
    assert decision.rule_id == kind
    assert decision.record_strike
    assert decision.strikes == 1
    assert decision.reminder_via is ReminderVia.THREAD


def test_every_kind_has_dutch_and_english_rule_text(rules: HouseRules) -> None:
    for kind in OffTopicKind:
        rule = rules.kinds[kind]
        assert rule.text.get("nl") and rule.text.get("en") != rule.text.get("nl")
        assert rule.label.get("nl")
    bedankt = rules.kinds[OffTopicKind.THANKS_OK_EMOJI].text.get("nl")
    assert "honderden telefoons" in bedankt
    assert "112" in rules.saar.get("nl")
    assert "Huisregels" in rules.rules_text.get("nl")


def test_an_unknown_kind_from_the_classifier_is_not_punished(rules: HouseRules) -> None:
    decision = resident(rules, "weather_talk")
    assert decision.penalty is Penalty.NONE
    assert decision.reason is DecisionReason.UNKNOWN_KIND


# --- threads ----------------------------------------------------------------------------


def test_discussion_in_a_thread_is_not_off_topic_by_default(rules: HouseRules) -> None:
    decision = resident(rules, "chit_chat", in_thread=True)
    assert decision.penalty is Penalty.NONE
    assert decision.reason is DecisionReason.IN_THREAD


def test_rooms_can_make_threads_count_too(tmp_path: Path) -> None:
    path = write_rules(tmp_path, f'[rooms."{ROOM}".ladder]\nthreads_exempt = false\n')
    strict = load_house_rules(path, ROOM)
    decision = resident(strict, "chit_chat", in_thread=True)
    assert decision.penalty is Penalty.REMIND
    assert decision.record_strike


# --- ladder and sliding window ----------------------------------------------------------


def test_ladder_remind_then_mute_for_a_day_then_kick(rules: HouseRules) -> None:
    steps = [resident(rules, "sales", strikes=n) for n in range(6)]
    assert [d.penalty for d in steps] == [
        Penalty.REMIND,  # strike 1
        Penalty.REMIND,  # strike 2: another reminder
        Penalty.MUTE,  # strike 3
        Penalty.MUTE,  # strike 4: muted again
        Penalty.KICK,  # strike 5
        Penalty.KICK,  # strike 6: came back and did it again
    ]
    assert steps[2].duration_s == DAY
    assert steps[2].strikes == 3
    assert steps[4].duration_s is None


def test_strikes_expire_after_thirty_days(rules: HouseRules) -> None:
    now = 100 * DAY
    window = rules.ladder.strike_window_s
    assert window == 30 * DAY
    strikes = [now - 31 * DAY, now - 29 * DAY, now - 1 * DAY]
    assert active_strikes(strikes, now, window) == 2
    # Two old strikes plus a new one is strike 3 only if the old ones still count.
    assert resident(rules, "sales", active_strikes(strikes, now, window)).penalty is Penalty.MUTE
    later = now + 2 * DAY
    remaining = active_strikes(strikes, later, window)
    assert remaining == 1
    assert resident(rules, "sales", remaining).penalty is Penalty.REMIND


def test_strike_exactly_at_the_window_edge_is_forgotten() -> None:
    assert active_strikes([0.0], now=30.0, window_s=30.0) == 0
    assert active_strikes([0.5], now=30.0, window_s=30.0) == 1
    assert active_strikes([], now=30.0, window_s=30.0) == 0


def test_redaction_is_off_by_default_and_configurable(rules: HouseRules, tmp_path: Path) -> None:
    assert not resident(rules, "sales").redact
    path = write_rules(tmp_path, f'[rooms."{ROOM}".ladder]\nredact_off_topic = true\n')
    redacting = load_house_rules(path, ROOM)
    assert resident(redacting, "sales").redact
    assert resident(redacting, "thanks_ok_emoji").redact
    assert not resident(redacting, None).redact
    assert not resident(redacting, None, flooded=True).redact, "a flood may be a real report"


def test_reminders_can_go_by_dm(tmp_path: Path) -> None:
    path = write_rules(tmp_path, f'[rooms."{ROOM}".ladder]\nreminder_via = "dm"\n')
    assert resident(load_house_rules(path, ROOM), "sales").reminder_via is ReminderVia.DM


def test_a_disabled_rule_is_not_enforced(tmp_path: Path) -> None:
    path = write_rules(tmp_path, f'[rooms."{ROOM}".kinds.greeting]\nenabled = false\n')
    decision = resident(load_house_rules(path, ROOM), "greeting")
    assert decision.penalty is Penalty.NONE
    assert decision.reason is DecisionReason.RULE_DISABLED


# --- exemptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [
        {"power_level": 50},
        {"power_level": 100},
        {"is_police": True},
        {"is_bot": True},
    ],
    ids=["moderator", "admin", "police", "bot"],
)
def test_moderators_police_and_the_bot_are_never_penalised(
    rules: HouseRules, who: dict[str, object]
) -> None:
    for kind in ["sales", "chit_chat"]:
        decision = resident(rules, kind, strikes=10, **who)
        assert decision.penalty is Penalty.NONE
        assert decision.reason is DecisionReason.EXEMPT
        assert not decision.record_strike and not decision.redact
    assert resident(rules, None, flooded=True, **who).penalty is Penalty.NONE


def test_power_level_just_below_moderator_is_not_exempt(rules: HouseRules) -> None:
    assert resident(rules, "sales", power_level=49).record_strike


# --- flooding ---------------------------------------------------------------------------


def test_flood_counts_a_strike_under_the_flooding_rule(rules: HouseRules) -> None:
    decision = resident(rules, None, flooded=True)
    assert decision.reason is DecisionReason.FLOOD
    assert decision.rule_id == FLOOD_RULE_ID
    assert decision.record_strike and decision.penalty is Penalty.REMIND


def test_flood_is_judged_in_threads_too_and_wins_over_off_topic(rules: HouseRules) -> None:
    decision = resident(rules, "chit_chat", flooded=True, in_thread=True, strikes=2)
    assert decision.reason is DecisionReason.FLOOD
    assert decision.strikes == 3, "one message earns one strike, not two"


def test_a_real_burst_is_a_flood() -> None:
    detector = FloodDetector(max_messages=6, window_ms=60_000)
    base = 1_700_000_000_000
    results = [detector.observe(ROOM, "@spam:x", base + i * 2_000) for i in range(7)]
    assert results == [False] * 6 + [True]


def test_a_backlog_spread_over_time_is_not_a_flood() -> None:
    """After downtime 50 messages arrive at once, but were sent five minutes apart."""
    detector = FloodDetector(max_messages=6, window_ms=60_000)
    base = 1_700_000_000_000
    results = [detector.observe(ROOM, "@jan:x", base + i * 300_000) for i in range(50)]
    assert not any(results)


def test_a_backlog_delivered_out_of_order_is_judged_by_timestamps() -> None:
    detector = FloodDetector(max_messages=3, window_ms=10_000)
    stamps = [0, 30_000, 60_000, 90_000, 120_000]
    assert not any(detector.observe(ROOM, "@a:x", ts) for ts in reversed(stamps))
    burst = [200_000, 203_000, 201_000, 202_000]
    assert [detector.observe(ROOM, "@a:x", ts) for ts in burst] == [False, False, False, True]


def test_floods_are_counted_per_user_and_per_room() -> None:
    detector = FloodDetector(max_messages=2, window_ms=10_000)
    assert not detector.observe(ROOM, "@a:x", 0)
    assert not detector.observe(ROOM, "@b:x", 1)
    assert not detector.observe("!other:x", "@a:x", 2)
    assert not detector.observe(ROOM, "@a:x", 3)
    assert detector.observe(ROOM, "@a:x", 4)


def test_a_sustained_flood_fires_once_per_burst_not_per_message() -> None:
    detector = FloodDetector(max_messages=3, window_ms=60_000)
    fired = [detector.observe(ROOM, "@a:x", i * 1000) for i in range(12)]
    assert fired.count(True) == 3


def test_flood_memory_stays_bounded() -> None:
    detector = FloodDetector(max_messages=3, window_ms=1000, max_tracked=100)
    for i in range(5000):
        detector.observe(ROOM, f"@u{i}:x", i)
    assert len(detector) == 100
    detector.prune(now_ms=10_000)
    assert len(detector) == 0


def test_forgetting_a_user_erases_their_flood_history() -> None:
    detector = FloodDetector(max_messages=2, window_ms=10_000)
    detector.observe(ROOM, "@a:x", 0)
    detector.observe(ROOM, "@a:x", 1)
    detector.forget_user("@a:x")
    assert len(detector) == 0
    assert not detector.observe(ROOM, "@a:x", 2)


def test_flood_rule_comes_from_config(rules: HouseRules) -> None:
    assert rules.flood.max_messages == 6
    assert rules.flood.window_seconds == 60


# --- loading ----------------------------------------------------------------------------


def test_default_path_finds_the_shipped_file() -> None:
    assert default_house_rules_path().samefile(CONFIG)
    assert load_house_rules().ladder.exempt_power_level == 50


def test_room_override_merges_with_the_defaults(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        f'[rooms."{ROOM}".ladder]\nsteps = [{{ strikes = 2, action = "kick" }}]\n'
        f'[rooms."{ROOM}".kinds.sales.text]\nnl = "Niets verkopen hier."\n',
    )
    book = load_house_rules_book(path)
    room = book.for_room(ROOM)
    assert room.kinds[OffTopicKind.SALES].text.nl == "Niets verkopen hier."
    assert room.kinds[OffTopicKind.SALES].text.en.startswith("No ads"), "deep merge keeps en"
    assert room.ladder.strike_window_s == 30 * DAY
    assert resident(room, "sales", strikes=1).penalty is Penalty.KICK
    # Other rooms keep the municipality's rules.
    assert book.for_room("!elsewhere:x") == book.default
    assert resident(book.default, "sales", strikes=1).penalty is Penalty.REMIND


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('[rooms."!r:x".ladder]\nstrike_window = "soms"\n', 'rooms."!r:x".ladder.strike_window'),
        ('[rooms."!r:x".ladder]\nreminder_via = "email"\n', 'rooms."!r:x".ladder.reminder_via'),
        ('[rooms."!r:x".ladder]\nsteps = [{ strikes = 3, action = "mute" }]\n', "steps.0"),
        ('[rooms."!r:x".ladder]\nstepz = []\n', 'rooms."!r:x".ladder.stepz'),
        ('[rooms."!r:x".kinds.weather]\nenabled = true\n', 'rooms."!r:x".kinds.weather'),
        ('[rooms."!r:x".flood]\nmax_messages = 0\n', 'rooms."!r:x".flood.max_messages'),
    ],
)
def test_bad_values_give_an_error_naming_the_key(tmp_path: Path, extra: str, named: str) -> None:
    with pytest.raises(HouseRulesError) as excinfo:
        load_house_rules(write_rules(tmp_path, extra))
    assert named in str(excinfo.value)
    assert str(tmp_path) in str(excinfo.value)


def test_a_default_missing_a_kind_is_rejected() -> None:
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    del data["default"]["kinds"]["lost_pet"]
    with pytest.raises(HouseRulesError, match="lost_pet"):
        parse_house_rules(data)


def test_broken_toml_and_missing_file_are_house_rules_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[default\n", encoding="utf-8")
    with pytest.raises(HouseRulesError, match="TOML"):
        load_house_rules(broken)
    with pytest.raises(HouseRulesError, match="cannot read"):
        load_house_rules(tmp_path / "absent.toml")
