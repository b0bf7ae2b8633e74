"""The key-sharing coordinator's bookkeeping, without a homeserver (no request is made).

The shares themselves are tested against Synapse in tests/integration/test_e2ee_sharing.py.
"""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

from bot.matrix.keysharing import KeySharing

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
