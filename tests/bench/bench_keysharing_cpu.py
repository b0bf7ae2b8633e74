"""CPU per device of a room-key share, nio's default crypto store against the bot's.

Run: python tests/bench/bench_keysharing_cpu.py [--devices 1000] [--profile]

No homeserver: the point is where the bot's own CPU goes. N devices get real vodozemac keys
(identity keys and a signed one-time key each); the responses a homeserver would give are read
(by nio's schema check, or by the bot's ``keyrequests`` check) and fed to matrix-nio's public
handlers (``Olm.handle_response`` for the key query and the key claim), then
``Olm.share_group_session_parallel`` encrypts the room key for every device, and the crypto
store writes what it must. The same steps run as nio would do them (``DefaultStore``, nio's
reading of the answers) and as the bot does (``BotCryptoStore``, its own reading), in fresh
stores on /dev/shm. ``--profile`` prints the top of a
cProfile run for the bot's store. Figures, not asserts: always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import shutil
import tempfile
import time
from typing import Any

import vodozemac
from _setup import Report, run
from nio import AsyncClient, AsyncClientConfig, KeysClaimResponse, KeysQueryResponse
from nio.store import DefaultStore

from bot.matrix.cryptostore import BotCryptoStore, IndexedDeviceStore
from bot.matrix.keyrequests import checked_claim, checked_query
from tests.devices import device_keys as signed_device_keys
from tests.devices import one_time_keys

ROOM = "!bench:example.nl"


def homeserver_answers(devices: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """What /keys/query and /keys/claim would return for ``devices`` one-device users."""
    device_keys: dict[str, Any] = {}
    claims: dict[str, Any] = {}
    for n in range(devices):
        account = vodozemac.Account()
        user_id, device_id = f"@bewoner{n}:example.nl", f"DEVICE{n}"
        device_keys[user_id] = {device_id: signed_device_keys(account, user_id, device_id)}
        claims[user_id] = {device_id: one_time_keys(account, user_id, device_id, 1)}
    return {"device_keys": device_keys, "failures": {}}, {"one_time_keys": claims, "failures": {}}


async def one_store(
    store: type, query: dict[str, Any], claim: dict[str, Any], profile: cProfile.Profile | None
) -> dict[str, float]:
    """CPU seconds per step for one store class (fresh store, same answers)."""
    directory = tempfile.mkdtemp(prefix="bench-keys-", dir="/dev/shm")
    try:
        config = AsyncClientConfig(encryption_enabled=True, store=store)
        client = AsyncClient(
            "http://unused", "@buurtbot:example.nl", store_path=directory, config=config
        )
        client.restore_login("@buurtbot:example.nl", "BOTDEVICE", "unused")
        olm = client.olm
        assert olm is not None
        if store is BotCryptoStore:  # what MatrixClient.login does for a new account
            olm.device_store = IndexedDeviceStore.of(olm.device_store)
        users = list(query["device_keys"])
        await asyncio.sleep(0)  # the account row is written
        steps: dict[str, float] = {}

        async def step(name: str, work: Any) -> None:
            if profile is not None:
                profile.enable()
            started = time.process_time()
            work()
            await asyncio.sleep(0)  # the bot's store writes at the next turn of the loop
            steps[name] = time.process_time() - started
            if profile is not None:
                profile.disable()

        ours = store is BotCryptoStore
        read_query = checked_query if ours else KeysQueryResponse.from_dict
        read_claim = checked_claim if ours else KeysClaimResponse.from_dict
        await step("key query (device keys)", lambda: olm.handle_response(read_query(query)))
        await step("key claim (Olm sessions)", lambda: olm.handle_response(read_claim(claim)))

        def share() -> None:
            list(olm.share_group_session_parallel(ROOM, users, ignore_unverified_devices=True))

        await step("room key, first share", share)
        olm.outbound_group_sessions[ROOM].shared = True
        await step("room key, after a rotation", share)
        await client.close()
        return steps
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    query, claim = homeserver_answers(args.devices)
    profile = cProfile.Profile() if args.profile else None
    default = await one_store(DefaultStore, query, claim, None)
    ours = await one_store(BotCryptoStore, query, claim, profile)
    report = Report(
        f"room-key share CPU, {args.devices} devices (no homeserver; nio's handlers)",
        ["ms per device; process CPU time, one run each, fresh store on /dev/shm"],
    )
    per = lambda seconds: seconds / args.devices * 1000  # noqa: E731
    for name in default:
        report.figure(
            name, f"nio DefaultStore {per(default[name]):.2f} / bot {per(ours[name]):.2f}"
        )
    first = sum(ours[n] for n in ours if "rotation" not in n)
    report.figure(
        "bot: query + claim + first share",
        f"{per(first):.2f} ms/device (nio's store: "
        f"{per(sum(default[n] for n in default if 'rotation' not in n)):.2f})",
        "<= 1 ms/device",
        per(first) <= 1,
    )
    report.print()
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    run(main)
