"""The bot as a real separate process (``python -m bot run``), for crash tests and benchmarks.

In-process bots are enough for most tests; these need what only a process gives: ``kill -9``
at an arbitrary moment, and an honest figure for its memory (RSS).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

READY_LINE = "bot ready as"
KILL_WHEN = Path(__file__).with_name("kill_when.py")


@dataclass
class BotProcess:
    homeserver: str
    user_id: str
    password: str
    data_dir: Path
    settings: dict[str, str] = field(default_factory=dict)  # extra BUURTBOT_* variables
    _process: subprocess.Popen[bytes] | None = None
    _log_offset: int = 0

    @property
    def log_path(self) -> Path:
        return self.data_dir / "bot.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUURTBOT_")}
        env.update(
            {
                "BUURTBOT_HOMESERVER": self.homeserver,
                "BUURTBOT_USER_ID": self.user_id,
                "BUURTBOT_PASSWORD": self.password,
                "BUURTBOT_DATA_DIR": str(self.data_dir),
                "BUURTBOT_SYNC_TIMEOUT_MS": "2000",
                "BUURTBOT_ALLOWED_INVITERS": f'["*:{self.user_id.split(":", 1)[1]}"]',
                **self.settings,
            }
        )
        return env

    async def start(self, wait_s: float = 60.0) -> None:
        """Start and wait until the bot has caught up and says it is ready."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._log_offset = self.log_path.stat().st_size
        self._process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child
            [sys.executable, "-m", "bot", "run"],
            env=self.environment(),
            stdout=log,
            stderr=log,
            cwd=Path(__file__).resolve().parents[1],
        )
        deadline = time.monotonic() + wait_s
        while READY_LINE not in self.log_since_start():
            if self._process.poll() is not None:
                raise RuntimeError(f"bot exited at start:\n{self.log_since_start()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bot not ready after {wait_s} s:\n{self.log_since_start()}")
            await asyncio.sleep(0.1)

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(self._log_offset)
            return handle.read().decode(errors="replace")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def rss_bytes(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def kill(self) -> None:
        """``kill -9``: no cleanup, no goodbye, exactly like a crash or an OOM kill."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait()

    async def kill_when(self, sql: str, at_least: int, wait_s: float = 60.0) -> None:
        """``kill -9`` as soon as ``sql`` (a count) on the bot's database reaches ``at_least``.

        A separate process watches and kills, so a test process busy with its own clients
        (decrypting fifty rooms, say) cannot make the kill come late.
        """
        database = self.data_dir / "buurtbot.sqlite3"
        watcher = await asyncio.create_subprocess_exec(
            sys.executable, str(KILL_WHEN), str(database), sql, str(at_least), str(self.pid),
            str(wait_s),
        )  # fmt: skip
        if await watcher.wait() != 0:
            raise AssertionError(f"{sql!r} did not reach {at_least} within {wait_s} s")
        assert self._process is not None
        await asyncio.to_thread(self._process.wait)

    async def stop(self, wait_s: float = 30.0) -> int:
        """A graceful stop with SIGTERM, as systemd or Docker would do it."""
        process = self._process
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(process.wait, wait_s)
        except subprocess.TimeoutExpired:
            # A bot deaf to SIGTERM is a failure, and must not outlive the test burning a core.
            process.kill()
            await asyncio.to_thread(process.wait)
            raise AssertionError(f"the bot did not stop within {wait_s} s of SIGTERM") from None
