"""The key-sharing coordinator's bookkeeping, without a homeserver (no request is made).

The shares themselves are tested against Synapse in tests/integration/test_e2ee_sharing.py.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from nio.crypto import OutboundGroupSession

from bot.matrix.keysharing import ROTATE_AHEAD_MESSAGES, KeySharing, nearly_spent

ROOM = "!wijk:localhost"


class _Olm:
    """Says whether a room's session still has to be shared, as nio's ``Olm`` does."""

    def __init__(self, needs_share: bool) -> None:
        self.needs_share = needs_share

    def should_share_group_session(self, room_id: str) -> bool:
        return self.needs_share


def _sharing(needs_share: bool) -> KeySharing:
    nio: Any = SimpleNamespace(olm=_Olm(needs_share), rooms={ROOM: SimpleNamespace(encrypted=True)})
    return KeySharing(nio)


def _finishes(coroutine_factory: Any, within_s: float = 5.0) -> bool:
    """Run a coroutine on a loop of its own; False if it has not finished in time (a loop
    that never yields cannot be interrupted from inside, so it runs in a thread)."""
    thread = threading.Thread(target=lambda: asyncio.run(coroutine_factory()), daemon=True)
    thread.start()
    thread.join(within_s)
    return not thread.is_alive()


def test_a_send_right_after_a_share_finished_goes_ahead():
    # The share is done, but its done-callback (which unlists it) has not run yet: the send
    # arriving in that moment must not wait for it by spinning (the bot froze at 100 % CPU).
    async def scenario() -> None:
        keys = _sharing(needs_share=False)
        share: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        keys._shares[ROOM] = share  # type: ignore[assignment]
        share.add_done_callback(lambda task: keys._share_done(ROOM, task))  # type: ignore[arg-type]
        share.set_result(None)  # schedules the callback, does not run it
        await keys.ensure_shared(ROOM)
        await asyncio.sleep(0)
        assert keys.pending() == 0

    assert _finishes(scenario), "ensure_shared spun on a finished share"


def test_a_finished_share_unlists_only_itself():
    async def scenario() -> None:
        keys = _sharing(needs_share=False)
        loop = asyncio.get_running_loop()
        old, new = loop.create_future(), loop.create_future()
        keys._shares[ROOM] = new  # type: ignore[assignment]
        keys._share_done(ROOM, old)  # type: ignore[arg-type]
        assert keys._shares[ROOM] is new, "a newer share of the room was forgotten"
        keys._share_done(ROOM, new)  # type: ignore[arg-type]
        assert keys.pending() == 0

    assert _finishes(scenario)


def test_a_session_is_replaced_ahead_with_two_restarts_worth_of_indices_or_a_day_left():
    session = OutboundGroupSession()
    assert not nearly_spent(session)
    session.message_count = session.max_messages - ROTATE_AHEAD_MESSAGES - 1
    assert not nearly_spent(session)
    session.message_count += 1
    assert nearly_spent(session), "a restart or two would leave it unusable"
    aged = OutboundGroupSession()
    aged.creation_time = datetime.now() - timedelta(days=6, hours=1)
    assert nearly_spent(aged), "less than a day of its week left"


def test_a_background_share_pauses_for_a_send_into_another_room_only():
    async def scenario() -> None:
        keys = _sharing(needs_share=False)
        async with keys.sending("!andere:localhost"):
            paused = asyncio.create_task(keys._give_way(ROOM))
            await asyncio.sleep(0.05)
            assert not paused.done(), "a background share went on during another room's send"
            async with keys.sending(ROOM):  # this room's send may be waiting for the share
                await asyncio.wait_for(paused, 1)
            again = asyncio.create_task(keys._give_way(ROOM))
            await asyncio.sleep(0.05)
            assert not again.done()
        await asyncio.wait_for(again, 1)  # the send is out: the share goes on

    assert _finishes(scenario)


class _Devices:
    def __init__(self, devices: dict[str, list[str]]) -> None:
        self.devices = devices

    def active_user_devices(self, user_id: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(id=d) for d in self.devices.get(user_id, [])]


def _taking_over(
    in_room: OutboundGroupSession | None, members: dict[str, list[str]]
) -> tuple[KeySharing, Any]:
    olm = SimpleNamespace(
        outbound_group_sessions={} if in_room is None else {ROOM: in_room},
        device_store=_Devices(members),
        is_device_blacklisted=lambda device: False,
    )
    nio: Any = SimpleNamespace(olm=olm, rooms={ROOM: SimpleNamespace(users=list(members))})
    return KeySharing(nio), olm


def test_a_successor_takes_over_only_where_that_is_still_right():
    old, successor = OutboundGroupSession(), OutboundGroupSession()
    successor.users_shared_with = {("@an:localhost", "TEL")}
    members = {"@an:localhost": ["TEL"], "@bo:localhost": ["TEL"]}

    # Nothing changed while it went out: it is the room's session, ready to use.
    keys, olm = _taking_over(old, members)
    assert keys._take_over(ROOM, old, successor)
    assert olm.outbound_group_sessions[ROOM] is successor and successor.shared

    # nio dropped the old one (Bo joined): it is used, but still to be shared with Bo.
    successor.shared = False
    keys, olm = _taking_over(None, members)
    assert keys._take_over(ROOM, old, successor)
    assert olm.outbound_group_sessions[ROOM] is successor and not successor.shared

    # A device it went to has gone: it must not be used.
    keys, olm = _taking_over(None, {"@bo:localhost": ["TEL"]})
    assert not keys._take_over(ROOM, old, successor)
    assert ROOM not in olm.outbound_group_sessions

    # An on-demand share made a session meanwhile: that one stays.
    other = OutboundGroupSession()
    keys, olm = _taking_over(other, members)
    assert not keys._take_over(ROOM, old, successor)
    assert olm.outbound_group_sessions[ROOM] is other
