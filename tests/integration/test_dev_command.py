"""`buurtbot dev` as a new contributor meets it: one command, demo accounts, clean Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from bot.devserver.rooms import UserSession
from bot.devserver.synapse import free_port

READY = "bot ready as"


async def run_until_ready(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "bot", "dev", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    while not any(READY in line for line in seen):
        line = await asyncio.wait_for(loop.run_in_executor(None, process.stdout.readline), 120)
        assert line, "buurtbot dev exited early:\n" + "".join(seen)
        seen.append(line)
    return process, "".join(seen)


async def interrupt(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)  # what Ctrl-C does
    return await asyncio.to_thread(process.wait, 60)


async def test_dev_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "dev", free_port()
    process, output = await run_until_ready(data_dir, port)
    try:
        assert f"http://127.0.0.1:{port}" in output
        for person in ("@beheerder:localhost", "@wijkagent:localhost", "@bewoner:localhost"):
            assert person in output
        assert output.count("password:") == 3
        state = json.loads((data_dir / "dev.json").read_text())
        beheerder = state["users"]["beheerder"]
        session = UserSession(
            f"http://127.0.0.1:{port}", beheerder["user_id"], beheerder["access_token"]
        )
        for room in state["rooms"].values():
            members = await session.joined_members(room)
            assert state["users"]["bot"]["user_id"] in members
            encryption = await session.state(room, "m.room.encryption")
            assert encryption["algorithm"] == "m.megolm.v1.aes-sha2"
    finally:
        code = await interrupt(process)
    assert code == 0
    synapse_pid = data_dir / "synapse" / "homeserver.pid"
    assert not synapse_pid.exists(), "Synapse must be stopped with the bot"

    # A second run reuses everything and does not print the passwords again.
    process, output = await run_until_ready(data_dir, port)
    assert await interrupt(process) == 0
    assert "password:" not in output
    assert json.loads((data_dir / "dev.json").read_text())["rooms"] == state["rooms"]
