"""`buurtbot classify`: the JSON-lines classification contract of DESIGN.md section 2.

Other tools pipe whole exports through this, so one bad line must never stop the stream:
it gets an error object and processing goes on. With `--explain` every answer also
carries an "explain" object saying which vocabulary terms, act tenses and model n-grams
decided it (the contract fields stay as they are).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from bot.domain.classifier import classifier_for, to_contract

__all__ = ["run_classify"]


def run_classify(stdin: TextIO, stdout: TextIO, *, explain: bool = False) -> int:
    """Classify `{"id", "text"}` lines from stdin; one JSON line out per non-blank line in."""
    for line in stdin:
        if not line.strip():
            continue
        stdout.write(json.dumps(_answer(line, explain), ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def _answer(line: str, explain: bool) -> dict[str, Any]:
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
    classifier = classifier_for()
    answer = to_contract(message_id, classifier.classify(text))
    if explain:
        answer["explain"] = classifier.explain(text)
    return answer
