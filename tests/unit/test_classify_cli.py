"""The `buurtbot classify` contract: one answer per line, bad lines never stop the stream."""

import io
import json

from bot.classify_cli import run_classify


def _run(lines: list[str]) -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    code = run_classify(io.StringIO("\n".join(lines) + "\n"), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_contract_object_per_message() -> None:
    code, out = _run(
        [
            json.dumps({"id": "a", "text": "Auto gestolen, kenteken SX-914-B"}),
            json.dumps({"id": 2, "text": "Bedankt!"}),
        ]
    )
    assert code == 0
    assert out == [
        {
            "id": "a",
            "category": "vehicle_crime",
            "urgent": False,
            "off_topic": False,
            "plates": ["SX-914-B"],
            "police_called": False,
        },
        {
            "id": 2,
            "category": None,
            "urgent": False,
            "off_topic": True,
            "plates": [],
            "police_called": False,
        },
    ]


def test_bad_lines_get_an_error_and_processing_continues() -> None:
    code, out = _run(
        [
            "{not json",
            "[1, 2]",
            json.dumps({"id": "x", "text": 42}),
            json.dumps({"id": "y", "text": "Brand in de schuur"}),
        ]
    )
    assert code == 0
    assert len(out) == 4
    assert "error" in out[0] and "error" in out[1]
    assert out[2]["id"] == "x" and "error" in out[2]
    assert out[3]["category"] == "fire"


def test_blank_lines_are_skipped() -> None:
    _, out = _run(["", json.dumps({"id": 1, "text": "👍"}), "   "])
    assert len(out) == 1


def test_unicode_is_written_readably() -> None:
    out = io.StringIO()
    run_classify(io.StringIO(json.dumps({"id": "é", "text": "x"}) + "\n"), out)
    assert '"é"' in out.getvalue()
