"""The bot's crypto store: nio's files and tables, written once per burst, looked up by index."""

from __future__ import annotations

import asyncio
from pathlib import Path

import vodozemac
from nio.crypto import OlmAccount, OlmDevice
from nio.crypto.sessions import OutboundGroupSession, OutboundSession, Session
from nio.store.file_trustdb import Key

from bot.matrix.cryptostore import BotCryptoStore, IndexedDeviceStore, IndexedKeyStore

USER, DEVICE = "@buurtbot:example.nl", "BOTDEVICE"


def device(n: int) -> OlmDevice:
    account = vodozemac.Account()
    keys = {
        "ed25519": account.ed25519_key.to_base64(),
        "curve25519": account.curve25519_key.to_base64(),
    }
    return OlmDevice(f"@bewoner{n}:example.nl", f"DEV{n}", keys)


def test_trust_list_lookups_survive_a_reload(tmp_path: Path) -> None:
    path = str(tmp_path / "ignored")
    store = IndexedKeyStore(path)
    devices = [device(n) for n in range(50)]
    store.add_many([Key.from_olmdevice(d) for d in devices[:40]])
    assert Key.from_olmdevice(devices[3]) in store
    assert Key.from_olmdevice(devices[45]) not in store
    assert store.remove(Key.from_olmdevice(devices[3]))
    assert not store.remove(Key.from_olmdevice(devices[45]))
    reloaded = IndexedKeyStore(path)
    assert Key.from_olmdevice(devices[3]) not in reloaded
    assert Key.from_olmdevice(devices[4]) in reloaded
    # Same user and device but another key (a re-created device) is not the trusted one.
    other = device(4)
    assert (
        Key.from_olmdevice(OlmDevice(devices[4].user_id, devices[4].id, other.keys)) not in reloaded
    )


def test_olm_writes_of_one_burst_are_one_transaction_and_persist(tmp_path: Path) -> None:
    async def burst() -> list[tuple[str, str]]:
        store = BotCryptoStore(USER, DEVICE, str(tmp_path))
        account = OlmAccount()
        store.save_account(account)
        made = []
        for _ in range(30):
            peer = vodozemac.Account()
            peer.generate_one_time_keys(1)
            otk = next(iter(peer.one_time_keys.values())).to_base64()
            curve = peer.curve25519_key.to_base64()
            session = OutboundSession(account, curve, otk)
            store.save_account(account)  # what nio does for every new session ...
            store.save_session(curve, session)  # ... and twice more per room key
            store.save_session(curve, session)
            made.append((curve, session.id))
        assert store.flushes == 0, "nothing is written while the burst runs"
        await asyncio.sleep(0)
        assert store.flushes == 1
        return made

    made = asyncio.run(burst())
    reloaded = BotCryptoStore(USER, DEVICE, str(tmp_path))
    assert reloaded.load_account() is not None
    sessions = reloaded.load_sessions()
    for curve, session_id in made:
        assert [s.id for s in sessions[curve]] == [session_id]


def test_device_keys_written_in_bulk_load_back_as_nio_wrote_them(tmp_path: Path) -> None:
    store = BotCryptoStore(USER, DEVICE, str(tmp_path))
    store.save_account(OlmAccount())
    devices = [device(n) for n in range(120)]
    store.save_device_keys({d.user_id: {d.id: d} for d in devices})
    devices[7].deleted = True
    store.save_device_keys({devices[7].user_id: {devices[7].id: devices[7]}})  # a change
    store.blacklist_device(devices[9])
    loaded = BotCryptoStore(USER, DEVICE, str(tmp_path)).load_device_keys()
    assert isinstance(loaded, IndexedDeviceStore)
    for d in devices:
        again = loaded[d.user_id][d.id]
        assert again.keys == d.keys and again.deleted == (d is devices[7])
        assert again.blacklisted == (d is devices[9])
    assert devices[3] in loaded and not loaded.add(devices[3]), "already known"
    assert device(500) not in loaded and loaded.add(device(500))


def _peer_session(account: OlmAccount) -> tuple[str, OutboundSession, vodozemac.Account]:
    peer = vodozemac.Account()
    peer.generate_one_time_keys(1)
    otk = next(iter(peer.one_time_keys.values())).to_base64()
    curve = peer.curve25519_key.to_base64()
    return curve, OutboundSession(account, curve, otk), peer


def _store_with_sessions(
    tmp_path: Path, monkeypatch, *, in_memory: int, peers: int
) -> tuple[BotCryptoStore, OlmAccount, list[tuple[str, OutboundSession, vodozemac.Account]]]:
    """A crypto store holding an Olm session with each of ``peers`` devices."""
    monkeypatch.setattr("bot.matrix.cryptostore.SESSIONS_IN_MEMORY", in_memory)
    store = BotCryptoStore(USER, DEVICE, str(tmp_path))
    account = OlmAccount()
    store.save_account(account)
    made = [_peer_session(account) for _ in range(peers)]
    for curve, session, _ in made:
        store.save_session(curve, session)  # no event loop here: written at once
    return store, account, made


def test_olm_sessions_stay_on_disk_until_a_device_is_used(tmp_path: Path, monkeypatch) -> None:
    _, _, peers = _store_with_sessions(tmp_path, monkeypatch, in_memory=3, peers=6)

    sessions = BotCryptoStore(USER, DEVICE, str(tmp_path)).load_sessions()
    assert all(curve in sessions for curve, _, _ in peers), "every device is known to have one"
    assert "some other key" not in sessions and sessions.get("some other key") is None
    assert len(sessions._cache) == 0, "nothing is unpickled at start-up"
    for curve, session, _ in peers:
        assert sessions.get(curve).id == session.id
    assert len(sessions._cache) == 3, "only the most recently used devices stay in memory"


def test_a_session_evicted_before_its_write_comes_back_with_its_latest_state(
    tmp_path: Path, monkeypatch
) -> None:
    # Encrypting advances the Olm ratchet; reading the stale row back would reuse a message
    # key, and the phone could not decrypt the room key.
    store, account, made = _store_with_sessions(tmp_path, monkeypatch, in_memory=1, peers=2)
    (curve, _, peer), (other, _, _) = made
    sessions = store.load_sessions()
    live = sessions.get(curve)
    first = live.encrypt("room key one")

    async def burst() -> Session:
        store.save_session(curve, live)  # what nio does after encrypting: written next turn
        sessions.get(other)  # evicts `curve` from memory
        return sessions.get(curve)

    again = asyncio.run(burst())
    assert again is live, "the unwritten session, not the row on disk"
    second = again.encrypt("room key two")
    bot_key = vodozemac.Curve25519PublicKey.from_base64(account.identity_keys["curve25519"])
    inbound, plaintext = peer.create_inbound_session(bot_key, first.to_pre_key())
    assert plaintext == b"room key one"
    assert inbound.decrypt(second) == b"room key two"


def test_only_a_clean_stop_lets_the_next_start_skip_no_message_index(tmp_path: Path) -> None:
    store = BotCryptoStore(USER, DEVICE, str(tmp_path))
    store.save_account(OlmAccount())
    session = OutboundGroupSession()
    session.shared = True
    session.encrypt("{}")
    store.save_outbound_session("!wijk:example.nl", session)
    store.flush(clean_stop=True)

    after_clean_stop = BotCryptoStore(USER, DEVICE, str(tmp_path))
    assert after_clean_stop.load_outbound_sessions()["!wijk:example.nl"].session.message_count == 1
    assert after_clean_stop.take_clean_stop()
    # That run crashes: the mark was taken at its start, so the run after it skips indices.
    after_crash = BotCryptoStore(USER, DEVICE, str(tmp_path))
    assert not after_crash.take_clean_stop()
