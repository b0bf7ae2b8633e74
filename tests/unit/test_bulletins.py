"""The pure parts of police bulletins, and the outbox repository on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.formatting import Rich
from bot.domain.police_alert import parse_alert
from bot.features.bulletin_delivery import (
    backoff_ms,
    format_seconds,
    is_settled,
    reason_text,
    status_text,
)
from bot.features.bulletins import (
    missing_text,
    parse_label_change,
    render_alert,
    render_bulletin,
    select_rooms,
    split_labels,
    strip_command_html,
)
from bot.features.watch_rooms import match_rooms
from bot.store.bulletins import Bulletin, BulletinRepository, Counts, Kind, State
from bot.store.database import Database


def bulletin(**changes: object) -> Bulletin:
    values: dict[str, object] = {
        "id": 7,
        "kind": Kind.BULLETIN,
        "sender": "@agent:localhost",
        "source_room": "!coord:localhost",
        "source_event_id": "$cmd",
        "labels": (),
        "plain": "x",
        "html": "x",
        "version": 1,
        "redacted": False,
        "parent_id": None,
        "status_event_id": "$status",
        "created_at": 1_000,
        "finished_at": None,
    }
    values.update(changes)
    return Bulletin(**values)  # type: ignore[arg-type]


# -- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "labels", "text"),
    [
        ("Let op: inbraken", [], "Let op: inbraken"),
        ("#westwijk #Centrum Let op", ["westwijk", "centrum"], "Let op"),
        ("#westwijk\nRegel één\n#hashtag blijft", ["westwijk"], "Regel één\n#hashtag blijft"),
        ("#a #a tekst", ["a"], "tekst"),
        ("#buurt:localhost is een alias", [], "#buurt:localhost is een alias"),
        ("#westwijk", ["westwijk"], ""),
        ("Tekst met #label later", [], "Tekst met #label later"),
    ],
)
def test_split_labels(args: str, labels: list[str], text: str) -> None:
    assert split_labels(args) == (labels, text)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("Noord #westwijk", ("Noord", ["westwijk"], [])),
        ("Buurtpreventie Noord #a -#B #c", ("Buurtpreventie Noord", ["a", "c"], ["b"])),
        ("!abc:localhost -#oud", ("!abc:localhost", [], ["oud"])),
        ("#noord:localhost #westwijk", ("#noord:localhost", ["westwijk"], [])),
        ("#westwijk", None),
        ("Noord", None),
        ("", None),
    ],
)
def test_parse_label_change(args: str, expected: object) -> None:
    assert parse_label_change(args) == expected


def test_select_rooms_by_label() -> None:
    rooms = ["!a", "!b", "!c"]
    labels = {"!a": ("westwijk",), "!b": ("centrum", "westwijk"), "!x": ("oud",)}
    assert select_rooms(rooms, labels, []) == (rooms, [])
    assert select_rooms(rooms, labels, ["westwijk"]) == (["!a", "!b"], [])
    assert select_rooms(rooms, labels, ["centrum", "oost"]) == (["!b"], ["oost"])
    # A label only a room the bot left carries is unknown too.
    assert select_rooms(rooms, labels, ["oud"]) == ([], ["oud"])


def test_match_rooms_by_name_ignores_case() -> None:
    names = {"!a": "Buurtpreventie Noord", "!b": "Zuid", "!c": "zuid "}
    assert match_rooms("buurtpreventie noord", names) == ["!a"]
    assert match_rooms("ZUID", names) == ["!b", "!c"]
    assert match_rooms("Oost", names) == []


# -- the relayed HTML --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "labels", "expected"),
    [
        ("!bericht <strong>Let op</strong>", [], "<strong>Let op</strong>"),
        ("<p>!bericht #westwijk Let <em>op</em></p>", ["westwijk"], "<p>Let <em>op</em></p>"),
        ("!bulletin #WestWijk<br>Regel", ["westwijk"], "Regel"),
        ("<p>!bericht</p>\n<ul><li>een</li></ul>", [], "\n<ul><li>een</li></ul>"),
        ("!Bericht&nbsp;tekst", [], "tekst"),
    ],
)
def test_strip_command_html(html: str, labels: list[str], expected: str) -> None:
    name = "bulletin" if "bulletin" in html else "bericht"
    assert strip_command_html(html, name, labels) == expected


def test_strip_command_html_without_the_command_gives_none() -> None:
    assert strip_command_html("<p>Iets anders</p>", "bericht", []) is None
    assert strip_command_html("!berichten", "bericht", []) is None


def test_bulletin_is_marked_and_sanitised() -> None:
    rich = render_bulletin(
        "nl", "Agent <Jansen>", 0, '<b>Let op</b><img src="x"><script>x</script>'
    )
    assert rich.html.startswith("<p>👮 <b>Politiebericht</b> van Agent &lt;Jansen&gt; · ")
    assert "<b>Let op</b>" in rich.html and "<img" not in rich.html and "script" not in rich.html
    assert rich.plain.startswith("👮 Politiebericht van Agent <Jansen> · ")
    assert rich.plain.endswith("Let op")


def test_alert_starts_with_room_mention_and_lists_fields() -> None:
    parsed = parse_alert("wat: Overval\nsignalement: man, rode jas\nlocatie: Markt <1>")
    rich = render_alert("nl", 3, "Agent", 0, parsed.fields)
    assert rich.plain.startswith("@room 🚨 POLITIE-ALARM #3")
    assert "Signalement: man, rode jas" in rich.plain and "Locatie: Markt <1>" in rich.plain
    assert "Markt &lt;1&gt;" in rich.html


def test_missing_fields_in_the_readers_words() -> None:
    assert missing_text(parse_alert("iets").missing, "nl") == (
        "Locatie, Signalement/Voertuig/Kenteken"
    )
    assert missing_text(["wat"], "en") == "What"


# -- the status line ---------------------------------------------------------------------


def test_status_progress_done_and_failed() -> None:
    b = bulletin()
    assert status_text(b, Counts(total=80, pending=43, sent=37), [], "nl").plain == (
        "📤 Verzonden naar 37/80 groepen…"
    )
    done = Counts(total=80, sent=80, updated=80, last_sent_at=3_100)
    assert status_text(b, done, [], "nl").plain == "✅ Afgeleverd in 80/80 groepen in 2,1 s"
    assert status_text(b, done, [], "en").plain == "✅ Delivered in 80/80 rooms in 2.1 s"
    failed = Counts(total=3, sent=1, failed=2, updated=1)
    text = status_text(b, failed, [("Noord", "M_FORBIDDEN"), ("Zuid", "M_UNKNOWN")], "nl")
    assert text.plain == (
        "⚠️ Afgeleverd in 1/3 groepen; mislukt: Noord (geen toegang), Zuid (fout M_UNKNOWN)"
    )


def test_status_after_edit_and_redaction() -> None:
    edited = bulletin(version=2)
    counts = Counts(total=2, sent=2, updated=1, last_sent_at=1_500)
    assert status_text(edited, counts, [], "nl").plain.endswith("· ✏️ bewerkt in 1/2 groepen")
    assert not is_settled(edited, counts)
    assert is_settled(edited, Counts(total=2, sent=2, updated=2))
    withdrawn = bulletin(redacted=True)
    assert status_text(withdrawn, Counts(total=2, sent=2, removed=1), [], "nl").plain == (
        "🗑️ Ingetrokken: verwijderd in 1/2 groepen"
    )
    assert not is_settled(withdrawn, Counts(total=2, sent=2, removed=1))


def test_small_helpers() -> None:
    assert format_seconds(2_149, "nl") == "2,1" and format_seconds(-5, "en") == "0.0"
    assert reason_text("M_NOT_FOUND", "en") == "room does not exist"
    assert [backoff_ms(n) for n in (1, 2, 9, 20)] == [2_000, 4_000, 300_000, 300_000]


async def due(repo: BulletinRepository, now: int) -> list[tuple[int, str]]:
    return [(d.bulletin_id, d.room_id) for d in await repo.actionable(now)]


# -- the repository ----------------------------------------------------------------------


async def test_outbox_is_written_once_and_tracks_work(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    repo = BulletinRepository(db)
    try:
        rendered: list[int] = []

        def render(nr: int) -> Rich:
            rendered.append(nr)
            return Rich(f"nr {nr}", f"<b>nr {nr}</b>")

        args = {
            "kind": Kind.ALERT,
            "sender": "@agent:localhost",
            "source_room": "!coord",
            "source_event_id": "$cmd",
            "labels": ["westwijk"],
            "rooms": ["!a", "!b"],
            "render": render,
        }
        first, created = await repo.create(**args)  # type: ignore[arg-type]
        again, created_again = await repo.create(**args)  # type: ignore[arg-type]
        assert created and not created_again and again == first
        assert rendered == [first.id] and first.plain == f"nr {first.id}"
        assert first.labels == ("westwijk",)
        assert await due(repo, 0) == [(first.id, "!a"), (first.id, "!b")]

        await repo.update_delivery(first.id, "!a", state=State.SENT, event_id="$e", version_sent=1)
        await repo.update_delivery(first.id, "!b", next_attempt_at=5_000)
        assert await due(repo, 1_000) == []
        assert await repo.next_attempt_after(1_000) == 5_000
        counts = await repo.counts(first.id)
        assert (counts.total, counts.sent, counts.pending, counts.updated) == (2, 1, 1, 1)

        await repo.update_content(first.id, Rich("nieuw", "nieuw"))
        assert await due(repo, 1_000) == [(first.id, "!a")]  # the edit is due
        await repo.mark_redacted(first.id)
        withdrawn = await repo.get(first.id)
        assert withdrawn is not None and withdrawn.redacted and withdrawn.plain == ""
        # Both are due now: redact the sent copy, cancel the pending one at once.
        assert await due(repo, 1_000) == [(first.id, "!a"), (first.id, "!b")]
        with pytest.raises(ValueError, match="not delivery columns"):
            await repo.update_delivery(first.id, "!a", label="x")
    finally:
        await db.close()


async def test_labels(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    repo = BulletinRepository(db)
    try:
        await repo.add_labels("!a", ["westwijk", "centrum", "westwijk"])
        await repo.add_labels("!b", ["centrum"])
        await repo.remove_labels("!a", ["centrum", "onbekend"])
        assert await repo.labels_by_room() == {"!a": ("westwijk",), "!b": ("centrum",)}
    finally:
        await db.close()
