"""``buurtbot dev``: a whole neighbourhood on your laptop in one command.

First run: start Synapse, register the bot, an admin and three demo people (beheerder,
wijkagent, bewoner), create the beheerdersgroep and two encrypted buurtgroepen, print how to
log in, run the bot. Later runs reuse everything under the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.devserver.rooms import UserSession
from bot.devserver.synapse import LocalSynapse, RegisteredUser
from bot.matrix.admin import SynapseAdmin
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

DEMO_CODE_USES, DEMO_CODE_DAYS = 10, 30
DEMO_PEOPLE = {
    "beheerder": "Bea Beheerder",
    "wijkagent": "Wim Wijkagent",
    "bewoner": "Bram Bewoner",
}


async def _accounts(synapse: LocalSynapse, state_file: Path) -> dict[str, Any]:
    if state_file.exists():
        return dict(json.loads(state_file.read_text()))
    users: dict[str, RegisteredUser] = {
        "admin": await synapse.register("admin", admin=True),
        "bot": await synapse.register("buurtbot"),
    }
    for name, display in DEMO_PEOPLE.items():
        users[name] = await synapse.register(name)
        session = UserSession(synapse.url, users[name].user_id, users[name].access_token)
        path = f"/_matrix/client/v3/profile/{users[name].user_id}/displayname"
        await session.request("PUT", path, {"displayname": display})
    await synapse.exempt_from_ratelimit(users["admin"].access_token, users["bot"].user_id)
    rooms = await _rooms(synapse, users)
    state = {"users": {k: asdict(v) for k, v in users.items()}, "rooms": rooms, "printed": False}
    state_file.write_text(json.dumps(state, indent=2))
    state_file.chmod(0o600)
    return state


async def _rooms(synapse: LocalSynapse, users: dict[str, RegisteredUser]) -> dict[str, str]:
    def session(name: str) -> UserSession:
        return UserSession(synapse.url, users[name].user_id, users[name].access_token)

    beheerder, bot = session("beheerder"), users["bot"].user_id
    wijkagent, bewoner = users["wijkagent"].user_id, users["bewoner"].user_id
    rooms = {
        "coordination": await beheerder.create_room(
            "Beheerders Buurtwacht",
            invite=[bot, wijkagent],
            power_users={bot: 100, wijkagent: 50},
            topic="Beheerders en wijkagent. Rustig houden: alleen overleg en politieberichten.",
        ),
        "watch_noord": await beheerder.create_room(
            "Buurtpreventie Noord",
            invite=[bot, wijkagent, bewoner],
            power_users={bot: 100},
            topic="Signaleer – Alarmeer 112 – App – Reageer. Geen chat, alleen meldingen.",
        ),
        "watch_zuid": await beheerder.create_room(
            "Buurtpreventie Zuid",
            invite=[bot, bewoner],
            power_users={bot: 100},
            topic="Signaleer – Alarmeer 112 – App – Reageer. Geen chat, alleen meldingen.",
        ),
    }
    for key in ("watch_noord", "watch_zuid"):  # neighbours ask to join ("Vraag toegang")
        await beheerder.put_state(rooms[key], "m.room.join_rules", {"join_rule": "knock"})
    for room_id in rooms.values():
        for name in ("wijkagent", "bewoner"):
            with contextlib.suppress(Exception):  # not invited to every room
                await session(name).join(room_id)
    return rooms


def _print_welcome(synapse: LocalSynapse, state: dict[str, Any]) -> None:
    users = state["users"]
    lines = [
        "",
        "Buurtwacht draait lokaal / runs locally",
        f"  Homeserver: {synapse.url}   (server name: localhost)",
        "  Log in with Element desktop, FluffyChat or any Matrix client using that homeserver URL:",
    ]
    if not state["printed"]:
        for name in ("beheerder", "wijkagent", "bewoner"):
            lines.append(f"    {users[name]['user_id']:<24} password: {users[name]['password']}")
        lines.append("  (passwords are shown once; they are also in the data dir's dev.json)")
    else:
        lines.append(
            "  Accounts: @beheerder, @wijkagent, @bewoner :localhost (passwords in dev.json)"
        )
    lines += [
        "  Rooms: 'Beheerders Buurtwacht' (coordination), 'Buurtpreventie Noord' and 'Zuid'",
        "  Try !hulp in a room. Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)


async def _demo_code(synapse: LocalSynapse, settings: Settings, state: dict[str, Any]) -> str:
    """One working invitation code for the Noord room: a real registration token, linked in the
    bot's store exactly as ``!uitnodiging`` links one; a new one when the last has expired."""
    from bot.domain.invitation import new_code
    from bot.store import Store

    room_id = state["rooms"]["watch_noord"]
    store = await Store.open(settings.database_path)
    try:
        active = await store.invitations.active(room_id)
        if active:
            return active[0].code
        assert settings.admin_token is not None
        admin = SynapseAdmin(synapse.url, settings.admin_token)
        expires = int(time.time() * 1000) + DEMO_CODE_DAYS * 86_400_000
        token = await admin.create_token(DEMO_CODE_USES, expires, code=new_code())
        users = state["users"]
        await store.invitations.add(
            token.token, room_id, users["beheerder"]["user_id"], DEMO_CODE_USES, expires
        )
        return token.token
    finally:
        await store.close()


async def run_dev(data_dir: Path, port: int, language: str) -> int:
    from bot.app import Bot, default_features

    data_dir.mkdir(parents=True, exist_ok=True)
    synapse = LocalSynapse(data_dir / "synapse", port=port)
    await synapse.start()
    bot: Bot | None = None
    try:
        state_file = data_dir / "dev.json"
        state = await _accounts(synapse, state_file)
        users = state["users"]
        settings = load_settings(
            homeserver=synapse.url,
            user_id=users["bot"]["user_id"],
            password=users["bot"]["password"],
            data_dir=data_dir / "bot",
            coordination_room=state["rooms"]["coordination"],
            police_users=[users["wijkagent"]["user_id"]],
            allowed_inviters=["*:localhost"],
            language=language,
            # The demo admin's token is the bot's admin door (registration tokens only).
            admin_token=users["admin"]["access_token"],
        )
        code = await _demo_code(synapse, settings, state)
        _print_welcome(synapse, state)
        print(
            f"  Invitation code for 'Buurtpreventie Noord' (register a new account with it,\n"
            f"  then ask to join the room with the code in your message): {code}\n",
            flush=True,
        )
        state["printed"] = True
        state_file.write_text(json.dumps(state, indent=2))
        bot = Bot(settings, default_features)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, bot.stop)
        await bot.run()
    finally:
        await synapse.stop()
    return 0
