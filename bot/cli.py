"""``buurtbot`` — run the bot, run it on an embedded homeserver, check config, classify text."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

EXIT_CONFIG = 2


def configure_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        from bot.monitoring import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # nio and aiohttp narrate every event at INFO; keep them to real problems unless debugging.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("nio", "aiohttp", "peewee"):
        logging.getLogger(name).setLevel(quiet)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buurtbot", description="Buurtwacht: a Matrix bot for neighbourhood-watch rooms."
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="TOML config file (default config/buurtbot.toml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot against the configured homeserver")
    dev = sub.add_parser(
        "dev", help="run a local Synapse with demo accounts and rooms, and the bot"
    )
    dev.add_argument("--data-dir", type=Path, default=Path("var/dev"))
    dev.add_argument("--port", type=int, default=8008, help="homeserver port on 127.0.0.1")
    dev.add_argument("--language", choices=["nl", "en"], default="nl")
    sub.add_parser("check-config", help="validate the configuration and print it, secrets masked")
    classify = sub.add_parser("classify", help="classify JSON lines from stdin (see DESIGN.md)")
    classify.add_argument(
        "--explain",
        action="store_true",
        help='add an "explain" object per line: the terms, tense and model n-grams that decided',
    )
    export = sub.add_parser(
        "export", help="export incidents, moderation, rooms or members as CSV or JSON"
    )
    export.add_argument("kind", nargs="?", help="incidents | moderation | rooms | members")
    export.add_argument("--since", help="first local day, YYYY-MM-DD")
    export.add_argument("--until", help="last local day, inclusive (default: up to now)")
    export.add_argument("--format", dest="fmt", help="csv | json")
    export.add_argument("--output", type=Path, help="file to write (default: stdout)")
    export.add_argument(
        "--with-user-ids", action="store_true", help="real user IDs instead of pseudonyms"
    )
    return parser


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


async def _run_until_signalled(main: asyncio.Future[None] | asyncio.Task[None], stop) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await main


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "classify":
        from bot.classify_cli import run_classify

        return run_classify(sys.stdin, sys.stdout, explain=args.explain)
    if args.command == "check-config":
        settings = _settings(args.config)
        print(json.dumps(settings.masked(), indent=2, ensure_ascii=False, default=str))
        return 0
    if args.command == "dev":
        from bot.devserver.demo import run_dev

        configure_logging("INFO")
        return asyncio.run(run_dev(args.data_dir, args.port, args.language))
    if args.command == "export":
        from bot.export_cli import run_export, usage_error
        from bot.reports.export import ExportError, parse_request

        try:
            request = parse_request(args.kind, args.since, args.until, args.fmt, args.with_user_ids)
        except ExportError as exc:
            return usage_error(exc)
        return run_export(_settings(args.config), request, args.output)
    settings = _settings(args.config)
    configure_logging(settings.log_level, settings.monitoring.log_format)
    return asyncio.run(_run(settings))


async def _run(settings: Settings) -> int:
    from bot.app import Bot, default_features

    bot = Bot(settings, default_features)
    try:
        await _run_until_signalled(asyncio.create_task(bot.run()), bot.stop)
    except Exception as exc:  # a fatal start-up problem: one clear line, not a traceback
        logging.getLogger("bot").error("stopped: %s", exc)
        return 1
    return 0
