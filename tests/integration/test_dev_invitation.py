"""`buurtbot dev` prints an invitation code that really works: register with it, knock with it,
and the bot lets you into Buurtpreventie Noord."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from bot.devserver.rooms import UserSession
from bot.devserver.synapse import free_port
from tests.integration.conftest import eventually
from tests.integration.test_dev_command import interrupt, run_until_ready
from tests.integration.test_invitations import register


async def test_dev_prints_a_working_invitation_code(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "dev", free_port()
    process, output = await run_until_ready(data_dir, port)
    try:
        found = re.search(
            r"Invitation code for 'Buurtpreventie Noord'.*?: ([A-Z0-9-]{9})", output, re.S
        )
        assert found, output
        code = found[1]
        url = f"http://127.0.0.1:{port}"
        status, account = await register(url, f"buur{secrets.token_hex(3)}", code)
        assert status == 200, account
        newcomer = UserSession(url, account["user_id"], account["access_token"])
        state = json.loads((data_dir / "dev.json").read_text())
        noord = state["rooms"]["watch_noord"]
        await newcomer.request("POST", f"/_matrix/client/v3/knock/{noord}", {"reason": code})
        beheerder = state["users"]["beheerder"]
        moderator = UserSession(url, beheerder["user_id"], beheerder["access_token"])

        async def invited() -> bool:
            member = await moderator.state(noord, "m.room.member", account["user_id"])
            return member.get("membership") == "invite"

        await eventually(invited, "the newcomer let into Noord with the demo code")
    finally:
        assert await interrupt(process) == 0
