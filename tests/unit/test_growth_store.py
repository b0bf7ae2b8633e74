"""The stores behind invitation codes, postcode areas and the alarm test."""

from __future__ import annotations

from pathlib import Path

from bot.domain.postcode import parse_ranges
from bot.store import Store
from bot.store.admission import Source, Status
from bot.store.database import now_ms


async def test_a_code_lets_in_as_many_as_allowed_until_expiry_or_revocation(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        codes = store.invitations
        await codes.add("AAAA-BBBB", "!w", "@mod:x", 2, now_ms() + 60_000)
        await codes.add("OLD", "!w", "@mod:x", 5, now_ms() - 1)
        assert [c.code for c in await codes.active("!w")] == ["AAAA-BBBB"]
        assert not await codes.use("AAAA-BBBB", "!other")  # another room's code
        assert await codes.use("AAAA-BBBB", "!w")
        assert await codes.use("AAAA-BBBB", "!w")
        assert not await codes.use("AAAA-BBBB", "!w")  # both uses taken
        await codes.give_back("AAAA-BBBB")
        assert (await codes.get("AAAA-BBBB")).admissions_left == 1  # type: ignore[union-attr]
        assert not await codes.use("OLD", "!w")  # expired
        assert await codes.revoke("AAAA-BBBB", "@mod:x")
        assert not await codes.revoke("AAAA-BBBB", "@mod:x")
        assert not await codes.use("AAAA-BBBB", "!w")
        assert await codes.active("!w") == []
    finally:
        await store.close()


async def test_areas_and_the_postcode_forgotten_once_decided(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        await store.areas.set_area("!west", parse_ranges("1181-1183 1187"))
        await store.areas.set_area("!oost", parse_ranges("1190"))
        assert await store.areas.rooms_covering(1182) == ["!west"]
        assert await store.areas.rooms_covering(1184) == []
        await store.areas.set_area("!west", parse_ranges("1184"))
        assert await store.areas.rooms_covering(1182) == []
        assert set(await store.areas.all_areas()) == {"!west", "!oost"}

        request, _ = await store.admission.request(
            "!west", "@new:x", Source.POSTCODE, None, None, "aangemeld via postcode 1184"
        )
        assert request.reason == "aangemeld via postcode 1184"
        assert await store.admission.decide(request.id, Status.ACCEPTED, "@mod:x")
        decided = await store.admission.get(request.id)
        assert decided is not None and decided.reason is None and decided.status is Status.ACCEPTED
        knock, _ = await store.admission.request("!west", "@k:x", Source.KNOCK, "$e", None, "hoi")
        await store.admission.decide(knock.id, Status.DECLINED, "@mod:x")
        assert (await store.admission.get(knock.id)).reason == "hoi"  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_one_alarm_test_per_period_and_reads_forgotten_after_the_report(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        tests = store.alarm_tests
        test = await tests.begin("2026-12", now_ms() + 1000, None, ["!a", "!b"])
        assert test is not None
        assert await tests.begin("2026-12", now_ms() + 1000, None, ["!a"]) is None
        await tests.posted(test.id, "!a", "$post")
        await tests.record_reads([(test.id, "!a", "@u:x", 1), (test.id, "!a", "@u:x", 2)])
        assert await tests.readers(test.id, "!a") == {"@u:x"}
        assert [t.id for t in await tests.unfinished()] == [test.id]
        assert await tests.finish(test.id, {"!a": (1, 3), "!b": (0, 2)}, "$report")
        assert not await tests.finish(test.id, {}, None)
        assert await tests.readers(test.id, "!a") == set()
        posts = {p.room_id: (p.readers, p.members) for p in await tests.posts(test.id)}
        assert posts == {"!a": (1, 3), "!b": (0, 2)}
        assert (await tests.last_reported()).id == test.id  # type: ignore[union-attr]
    finally:
        await store.close()
