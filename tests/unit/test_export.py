"""Exports: pseudonyms, one-line argument errors, an empty store, CSV that round-trips."""

from __future__ import annotations

import asyncio
import csv
import json
import struct
import zlib
from pathlib import Path

import pytest

from bot.cli import main
from bot.reports.chart import chart_size, incidents_chart
from bot.reports.export import COLUMNS, CSV_ENCODING, KINDS, pseudonym
from bot.store import Store
from bot.store.incidents import Incident
from bot.store.rooms import RoomRole


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    one, other = b"sleutel-een", b"sleutel-twee"
    assert pseudonym("@anna:x", one) == pseudonym("@anna:x", one)
    assert pseudonym("@anna:x", one) != pseudonym("@anna:x", other)
    assert pseudonym("@anna:x", one) != pseudonym("@bert:x", one)
    assert "anna" not in pseudonym("@anna:x", one) and pseudonym("", one) == ""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "HOMESERVER": "http://127.0.0.1:1",
        "USER_ID": "@buurtbot:x",
        "PASSWORD": "geheim",
        "DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(f"BUURTBOT_{key}", value)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["incidents", "--since", "2026-02-30", "--format", "csv"], "not a date"),
        (["incidents", "--since", "2026-03-01", "--until", "2026-02-01", "--format", "csv"],
         "before"),
        (["incidents", "--since", "2026-03-01", "--format", "xlsx"], "unknown format"),
        (["berichten", "--since", "2026-03-01", "--format", "csv"], "unknown kind"),
        (["incidents", "--format", "csv"], "--since"),
    ],
)  # fmt: skip
def test_bad_arguments_give_one_line_and_exit_2(env: Path, capsys, args, message) -> None:
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_never_run_bot_exports_a_header_and_no_rows(env: Path, kind: str) -> None:
    out = env / f"{kind}.csv"
    assert (
        main(["export", kind, "--since", "2026-01-01", "--format", "csv", "--output", str(out)])
        == 0
    )
    with out.open(encoding=CSV_ENCODING, newline="") as handle:
        assert list(csv.reader(handle)) == [list(COLUMNS[kind])]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    js = env / f"{kind}.json"
    assert (
        main(["export", kind, "--since", "2026-01-01", "--format", "json", "--output", str(js)])
        == 0
    )
    document = json.loads(js.read_text("utf-8"))
    assert document["rows"] == [] and document["columns"] == list(COLUMNS[kind])


INCIDENT = Incident("!z:x", "$e", "@anna:x", 1_780_000_000_000, "theft", True,
                    ("VNL-38-P",), 'Fiets "weg", bij de Kerkstraat\nnu')  # fmt: skip


async def seed(path: Path) -> None:
    store = await Store.open(path)
    await store.rooms.joined("!z:x", RoomRole.WATCH, "Zuid-Ïjsselmonde “Oost”, één")
    await store.incidents.save(INCIDENT)
    await store.close()


def test_incident_csv_round_trips_with_utf8_names_and_pseudonyms(env: Path) -> None:
    asyncio.run(seed(env / "data" / "buurtbot.sqlite3"))
    incident = INCIDENT
    out = env / "incidents.csv"
    args = ["export", "incidents", "--since", "2026-01-01", "--format", "csv"]
    assert main([*args, "--output", str(out)]) == 0
    with out.open(encoding=CSV_ENCODING, newline="") as handle:
        [header, row] = list(csv.reader(handle))
    record = dict(zip(header, row, strict=True))
    assert record["room"] == "Zuid-Ïjsselmonde “Oost”, één"
    assert record["excerpt"] == incident.excerpt and record["plates"] == "VNL-38-P"
    assert record["urgent"] == "true" and record["sender"].startswith("u-")
    assert record["time"].endswith("+02:00")  # 28 May 2026 in Amsterdam: summer time
    again = env / "again.csv"
    assert main([*args, "--output", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes(), "pseudonyms are stable across runs"
    assert main([*args, "--output", str(again), "--with-user-ids"]) == 0
    assert "@anna:x" in again.read_text(CSV_ENCODING)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_chart_is_a_decodable_png_of_the_expected_size() -> None:
    rooms = [f"Buurt {n}" for n in range(12)]
    chart = incidents_chart(
        rooms,
        {"burglary": "Inbraak", "theft": "Diefstal"},
        [{"burglary": n % 3, "theft": 1} for n in range(12)],
        [{"theft": 2} for _ in range(12)],
        {"title": "Week 49", "this_week": "deze week", "last_week": "vorige week", "count": "n"},
    )
    assert (chart.width, chart.height) == chart_size(12) == png_size(chart.png)
    assert chart_size(1) == (800, 500)
    # Decode every IDAT chunk: the image data inflates to height rows of width RGBA pixels.
    data, pos, idat = chart.png, 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(raw) == chart.height * (1 + chart.width * 4)
