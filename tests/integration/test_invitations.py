"""Invitation codes on a real Synapse: a real registration token, a new account made with it,
a knock with the code let in at once, a revoked or expired code left to the moderators."""

from __future__ import annotations

import re
import secrets
from typing import Any

import aiohttp

from bot.devserver.rooms import UserSession
from bot.store.admission import JoinRequest, Status
from tests.integration.conftest import Person, eventually, from_sender
from tests.integration.test_admission import ask, body, knock, knock_room, notice_for, open_request

CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")


async def register(url: str, username: str, token: str | None) -> tuple[int, dict[str, Any]]:
    """Client-server registration as Element does it: the token stage, then what remains."""
    password = secrets.token_urlsafe(16)
    endpoint = f"{url}/_matrix/client/v3/register"
    async with aiohttp.ClientSession() as http:
        body_: dict[str, Any] = {"username": username, "password": password}
        async with http.post(endpoint, json=body_) as response:
            data = await response.json()
        for _ in range(3):
            if response.status != 401 or "session" not in data:
                break
            done = set(data.get("completed", []))
            stages = next(iter(data["flows"]))["stages"]
            stage = next(s for s in stages if s not in done)
            auth: dict[str, Any] = {"type": stage, "session": data["session"]}
            if stage == "m.login.registration_token":
                if token is None:
                    auth = {"type": "m.login.dummy", "session": data["session"]}
                else:
                    auth["token"] = token
            async with http.post(endpoint, json={**body_, "auth": auth}) as response:
                data = await response.json()
        return response.status, data


async def admin_get(url: str, admin_token: str, path: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with aiohttp.ClientSession() as http, http.get(url + path, headers=headers) as r:
        return r.status, await r.json()


async def invitation_text(beheerder: Person, bot_id: str) -> str:
    """The private message with the invitation: join the direct chat the bot opened."""
    await beheerder.wait_until(lambda: bool(beheerder.client.invited_rooms), what="the DM invite")
    direct = next(iter(beheerder.client.invited_rooms))
    await beheerder.join(direct)
    event = await beheerder.wait_for(
        direct,
        lambda e: from_sender(bot_id)(e) and "registratietoken" in body(e),
        what="the invitation text",
    )
    return body(event)


async def test_a_code_is_a_real_token_that_registers_and_lets_the_knock_in(
    homeserver, admin, make_user, start_bot
) -> None:
    bot, beheerder, _bewoner, coordination, watch = await knock_room(
        make_user, start_bot, admin_token=admin.access_token
    )
    answer = await ask(beheerder, watch, "!uitnodiging 2 7")
    assert "privé gestuurd" in answer and not CODE.search(answer), answer  # no code in the room
    text = await invitation_text(beheerder, bot.user_id)
    code = CODE.search(text)[1]  # type: ignore[index]
    for step in ("Element", homeserver.url, "registratietoken", "matrix.to", "vraag toegang"):
        assert step in text, step

    status, token = await admin_get(
        homeserver.url, admin.access_token, f"/_synapse/admin/v1/registration_tokens/{code}"
    )
    assert status == 200 and token["uses_allowed"] == 2 and token["expiry_time"] is not None

    # Registration needs the token: without it, or with a wrong one, no account is made.
    refused, data = await register(homeserver.url, f"zonder{secrets.token_hex(3)}", None)
    assert refused == 401 and "user_id" not in data
    refused, data = await register(homeserver.url, f"fout{secrets.token_hex(3)}", "ABCD-2345")
    assert refused == 401 and "user_id" not in data
    created, account = await register(homeserver.url, f"nieuw{secrets.token_hex(3)}", code)
    assert created == 200, account
    newcomer = UserSession(homeserver.url, account["user_id"], account["access_token"])

    await newcomer.request(
        "POST", f"/_matrix/client/v3/knock/{watch}", {"reason": f"vraag toegang met {code}"}
    )

    async def invited() -> bool:
        member = await beheerder.session.state(watch, "m.room.member", account["user_id"])
        return member.get("membership") == "invite"

    await eventually(invited, "the newcomer invited by the bot")
    await newcomer.join(watch)
    assert account["user_id"] in await beheerder.session.joined_members(watch)
    request = await bot.bot.services.store.admission.latest(watch, account["user_id"])
    assert request is not None and request.status is Status.ACCEPTED
    assert request.decided_by == bot.user_id
    stored = await bot.bot.services.store.invitations.get(code)
    assert stored is not None and stored.admissions == 1

    listing = await ask(beheerder, watch, "!uitnodigingen")
    assert code in listing and "nog 1 van 2" in listing and "1 account" in listing
    assert coordination  # no request was put to the moderators for this knock


async def test_revoked_and_expired_codes_fall_back_to_the_moderators(
    homeserver, admin, make_user, start_bot
) -> None:
    bot, beheerder, _bewoner, coordination, watch = await knock_room(
        make_user, start_bot, admin_token=admin.access_token
    )
    await ask(beheerder, watch, "!uitnodiging 5")
    revoked_code = CODE.search(await invitation_text(beheerder, bot.user_id))[1]  # type: ignore[index]
    await ask(beheerder, watch, "!uitnodiging 5")
    codes = await bot.bot.services.store.invitations.active(watch)
    expired_code = next(c.code for c in codes if c.code != revoked_code)

    answer = await ask(beheerder, watch, f"!intrekken {revoked_code.lower()}")
    assert "ingetrokken" in answer
    status, _ = await admin_get(
        homeserver.url,
        admin.access_token,
        f"/_synapse/admin/v1/registration_tokens/{revoked_code}",
    )
    assert status == 404, "the token is deleted on Synapse too"
    # Time passes for the second code (its expiry moved into the past).
    await bot.bot.services.store.db.execute(
        "UPDATE invitation_codes SET expires_at = 1 WHERE code = ?", (expired_code,)
    )

    for code, word in ((revoked_code, "ingetrokken"), (expired_code, "verlopen")):
        person = await make_user("klopper")
        await knock(person, watch, f"vraag toegang met deze code {code}")
        filed = await open_request(bot, watch, person.user_id)

        async def noted(request_id: int = filed.id) -> JoinRequest | None:
            found = await bot.bot.services.store.admission.get(request_id)
            return found if found is not None and found.note else None

        request = await eventually(noted, "the note on the request")  # the hook runs after filing
        assert request.note is not None and word in request.note
        notice = await notice_for(beheerder, coordination, bot.user_id, request)
        assert "Let op" in body(notice) and word in body(notice)
        member = await beheerder.session.state(watch, "m.room.member", person.user_id)
        assert member["membership"] == "knock", "nobody let in with a bad code"
    answer = await ask(beheerder, watch, "!uitnodigingen")
    assert "geen actieve" in answer


async def test_without_admin_token_the_command_explains_the_set_up(make_user, start_bot) -> None:
    _bot, beheerder, bewoner, _coordination, watch = await knock_room(make_user, start_bot)
    answer = await ask(beheerder, watch, "!uitnodiging")
    assert "BUURTBOT_ADMIN_TOKEN" in answer
    assert "!uitnodiging [aantal] [dagen]" in await ask(beheerder, watch, "!uitnodiging vijf")
    assert "alleen voor beheerders" in await ask(bewoner, watch, "!uitnodiging")
