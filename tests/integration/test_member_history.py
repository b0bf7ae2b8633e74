"""Member history on real Synapse: seeded on a first start, followed live, reconciled on restart."""

from __future__ import annotations

from tests.integration.conftest import eventually, neighbourhood


async def test_history_is_seeded_followed_and_reconciled_across_a_restart(
    make_user, start_bot
) -> None:
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    members = bot.bot.services.store.members
    await eventually(
        lambda: _has(members, watch, {beheerder.user_id, bewoner.user_id}), "seeded members"
    )
    assert bot.user_id not in await members.members(watch)

    late = await make_user("nieuw")
    await beheerder.session.invite(watch, late.user_id)
    await late.join(watch)
    await eventually(lambda: _has(members, watch, {late.user_id}), "live join recorded")
    joined_ts = {s.user_id: s.joined_ts for s in await members.stints(0, 2**62, [watch])}
    assert joined_ts[beheerder.user_id] < joined_ts[late.user_id]

    await late.client.room_leave(watch)
    await eventually(lambda: _lacks(members, watch, late.user_id), "live leave recorded", wait_s=30)
    await bot.stop()

    # While the bot is down, the bewoner leaves and someone new comes in.
    await bewoner.client.room_leave(watch)
    other = await make_user("later")
    await beheerder.session.invite(watch, other.user_id)
    await other.join(watch)

    bot = await start_bot(coordination_room=bot.settings.coordination_room)
    members = bot.bot.services.store.members
    assert set(await members.members(watch)) == {beheerder.user_id, other.user_id}
    assert (await members.joined_since(0, room_ids=[watch]))[watch] == 4
    assert len(await members.stints(0, 2**62, [watch])) == 4


async def _has(members, room_id: str, users: set[str]) -> bool:
    return users <= set(await members.members(room_id))


async def _lacks(members, room_id: str, user: str) -> bool:
    return user not in await members.members(room_id)
