"""!vergeet and buurtbot export on real Synapse, checked in the bot's own database."""

from __future__ import annotations

import asyncio
import csv
import sys
from typing import Any

from tests.integration.conftest import eventually, neighbourhood, replies_to


def body(event: dict[str, Any]) -> str:
    return event.get("content", {}).get("body", "")


async def cells_mentioning(db, needle: str) -> list[str]:
    """Every table.column cell in the database that contains ``needle``."""
    found = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in (row["name"] for row in tables):
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            columns = row.keys()  # a sqlite3.Row iterates over values, not names
            found += [f"{table}.{key}" for key in columns if needle in str(row[key])]
    return found


async def test_forget_removes_the_persons_rows_of_every_kind(make_user, start_bot) -> None:
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    store = bot.bot.services.store
    report = await bewoner.send(watch, "Vannacht is mijn fiets gestolen uit de schuur")
    chat = await bewoner.send(watch, "Te koop: grasmaaier, 50 euro")
    await eventually(lambda: store.incidents.get(report), "incident stored")
    await eventually(lambda: store.conduct.strikes(watch, bewoner.user_id), "strike for the sale")
    warn = await beheerder.send(watch, f"!waarschuw {bewoner.user_id} blijft verkopen")
    await beheerder.wait_for(watch, replies_to(warn), what="warning")
    assert bewoner.user_id in await store.members.members(watch)
    before = await cells_mentioning(store.db, bewoner.user_id)
    for kind in ("incidents.sender", "strikes.user_id", "audit.target", "member_history.user_id"):
        assert kind in before, kind

    asked = await beheerder.send(watch, f"!vergeet {bewoner.user_id}")
    answer = body(await beheerder.wait_for(watch, replies_to(asked), what="erasure"))
    assert "meldingen geanonimiseerd: 1" in answer
    assert "overtredingen verwijderd: 2" in answer  # the sale and the warning
    assert "lidmaatschappen verwijderd: 1" in answer
    assert "logboekregels ontdaan van de persoon: 2" in answer  # the reminder and the warning

    async def nothing_left() -> bool:
        return not await cells_mentioning(store.db, bewoner.user_id)

    await eventually(nothing_left, "no row mentions the person")  # the command leaves the inbox
    record = await store.incidents.get(report)
    assert record is not None and record.category == "theft" and record.excerpt == ""
    [erasure] = [a for a in await store.audit.recent() if a.action == "forget"]
    assert erasure.target is None and erasure.actor == beheerder.user_id
    assert "incidents=1" in erasure.details["detail"]
    assert chat  # the off-topic message itself stays in the room: that is Matrix's, not ours


async def test_export_cli_writes_a_csv_that_round_trips(make_user, start_bot, tmp_path) -> None:
    bot, _beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    store = bot.bot.services.store
    report = await bewoner.send(
        watch, "Verdachte man met zaklamp bij de garages, rijdt weg in GF-214-N"
    )
    await eventually(lambda: store.incidents.get(report), "incident stored")
    await bot.stop()  # the export reads the same database the bot wrote

    env = {
        "BUURTBOT_HOMESERVER": bot.settings.homeserver,
        "BUURTBOT_USER_ID": bot.settings.user_id,
        "BUURTBOT_PASSWORD": "niet-gebruikt",
        "BUURTBOT_DATA_DIR": str(bot.settings.data_dir),
        "BUURTBOT_REPORTS__PSEUDONYM_KEY": "gemeente-evaluatie-2026",
    }
    results = {}
    for kind in ("incidents", "members", "rooms", "moderation"):
        out = tmp_path / f"{kind}.csv"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "export", kind, "--since", "2020-01-01",
            "--format", "csv", "--output", str(out),
            env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        with out.open(encoding="utf-8-sig", newline="") as handle:
            results[kind] = list(csv.DictReader(handle))
    [incident] = results["incidents"]
    assert incident["category"] == "suspicious" and incident["plates"] == "GF-214-N"
    assert incident["room_id"] == watch and incident["sender"].startswith("u-")
    members = {row["user"] for row in results["members"] if row["room_id"] == watch}
    assert len(members) == 2 and incident["sender"] in members, "same pseudonym everywhere"
    assert not any(bewoner.user_id in str(row) for rows in results.values() for row in rows)
    [room] = [row for row in results["rooms"] if row["room_id"] == watch]
    assert room["incidents"] == "1" and room["members_at_end"] == "2"
