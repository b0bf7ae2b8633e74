"""Structured logs: one JSON object per line, with the handled event's IDs as fields."""

from __future__ import annotations

import json
import logging

from bot.monitoring import JsonFormatter, log_context


def test_json_lines_carry_event_and_room_ids() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "handled %s", ("it",), None)
    token = log_context.set({"event_id": "$e", "room_id": "!r:x"})
    try:
        line = JsonFormatter().format(record)
    finally:
        log_context.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "handled it" and entry["level"] == "INFO"
    assert entry["event_id"] == "$e" and entry["room_id"] == "!r:x"
    assert "\n" not in line
