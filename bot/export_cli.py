"""``buurtbot export``: argument checks (one line, exit 2) and writing the file."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.domain.periods import dates_window
from bot.reports.export import (
    CSV_ENCODING,
    ExportError,
    ExportRequest,
    export_rows,
    pseudonym,
    to_csv,
    to_json,
)
from bot.reports.queries import ReportQueries
from bot.scheduler import system_clock
from bot.settings import Settings
from bot.store import Store

EXIT_USAGE = 2


async def _export(settings: Settings, request: ExportRequest) -> str:
    tz = settings.reports.tz
    window = dates_window(request.since, request.until, system_clock(), tz)
    store = await Store.open(settings.database_path)
    try:
        configured = settings.reports.pseudonym_key
        key = (
            configured.get_secret_value().encode()
            if configured is not None
            else await store.state.pseudonym_key()
        )

        def who(user_id: str | None) -> str:
            if not user_id:
                return ""
            return user_id if request.with_user_ids else pseudonym(user_id, key)

        queries = ReportQueries(store, settings.user_id)
        rows = await export_rows(queries, request.kind, window, tz, who)
    finally:
        await store.close()
    if request.format == "csv":
        return to_csv(request.kind, rows)
    return to_json(request, window, rows)


def run_export(settings: Settings, request: ExportRequest, output: Path | None) -> int:
    text = asyncio.run(_export(settings, request))
    if output is None:
        # The same bytes as a file: CSV with its byte-order mark, for `> export.csv`.
        bom = "\ufeff" if request.format == "csv" else ""
        sys.stdout.buffer.write((bom + text).encode("utf-8"))
        sys.stdout.flush()
        return 0
    encoding = CSV_ENCODING if request.format == "csv" else "utf-8"
    try:
        output.write_text(text, encoding=encoding, newline="")
    except OSError as exc:
        print(f"export: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def usage_error(exc: ExportError) -> int:
    print(f"export: {exc}", file=sys.stderr)
    return EXIT_USAGE
