"""`buurtbot classify`: the JSON-lines classification contract of DESIGN.md section 2.

Other tools pipe whole exports through this, so one bad line must never stop the stream:
it gets an error object and processing goes on.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from bot.domain.classifier import classify, to_contract

__all__ = ["run_classify"]


def run_classify(stdin: TextIO, stdout: TextIO) -> int:
    """Classify `{"id", "text"}` lines from stdin; one JSON line out per non-blank line in."""
    for line in stdin:
        if not line.strip():
            continue
        stdout.write(json.dumps(_answer(line), ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def _answer(line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        return {"error": f"invalid JSON: {exc}"}
    if not isinstance(item, dict):
        return {"error": "expected a JSON object with id and text"}
    message_id = item.get("id")
    text = item.get("text")
    if not isinstance(text, str):
        return {"id": message_id, "error": "text must be a string"}
    return to_contract(message_id, classify(text))
