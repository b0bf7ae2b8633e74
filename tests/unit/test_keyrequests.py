"""Reading /keys/query and /keys/claim answers: one malformed device must not cost the rest.

The answers are what a homeserver sends, with real vodozemac keys, fed to a real nio Olm
machine; the requests themselves run against Synapse in tests/integration/test_e2ee_sharing.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import vodozemac
from nio import (
    AsyncClient,
    AsyncClientConfig,
    KeysClaimError,
    KeysClaimResponse,
    KeysQueryError,
    KeysQueryResponse,
)
from nio.store import SqliteMemoryStore

from bot.matrix.keyrequests import checked_claim, checked_query
from tests.devices import device_keys, one_time_keys

BOT = "@buurtbot:localhost"


def _residents(count: int) -> list[tuple[str, str, vodozemac.Account]]:
    return [(f"@bewoner{n}:localhost", f"TELEFOON{n}", vodozemac.Account()) for n in range(count)]


def _query_answer(residents: list[tuple[str, str, vodozemac.Account]]) -> dict[str, Any]:
    return {
        "device_keys": {
            user: {device: device_keys(account, user, device)}
            for user, device, account in residents
        },
        "failures": {},
    }


def _claim_answer(residents: list[tuple[str, str, vodozemac.Account]]) -> dict[str, Any]:
    return {
        "one_time_keys": {
            user: {device: one_time_keys(account, user, device, 1)}
            for user, device, account in residents
        }
    }


def _client(tmp_path: Path) -> AsyncClient:
    config = AsyncClientConfig(encryption_enabled=True, store=SqliteMemoryStore)
    client = AsyncClient("http://unused", BOT, store_path=str(tmp_path), config=config)
    client.restore_login(BOT, "BOTDEVICE", "unused")
    return client


def _known_devices(client: AsyncClient) -> set[str]:
    assert client.olm is not None
    return {device.id for device in client.olm.device_store}


def test_a_malformed_device_is_left_out_and_every_other_device_is_known(tmp_path: Path) -> None:
    residents = _residents(4)
    answer = _query_answer(residents)
    (user0, device0, _), (user1, device1, _), (user2, device2, _) = residents[:3]
    answer["device_keys"][user0][device0]["keys"] = "not a map"
    answer["device_keys"][user1][device1]["signatures"] = {user1: ["not", "a", "map"]}
    answer["device_keys"][user2][device2]["device_id"] = "SOMEONE_ELSE"
    # nio's own reading refuses the whole answer, so nobody's keys would be learnt
    assert isinstance(KeysQueryResponse.from_dict(copy.deepcopy(answer)), KeysQueryError)

    client = _client(tmp_path)
    assert client.olm is not None
    client.olm.users_for_key_query.update(answer["device_keys"])
    response = checked_query(answer)
    assert isinstance(response, KeysQueryResponse)
    client.olm.handle_response(response)
    assert _known_devices(client) == {residents[3][1]}
    assert not client.olm.users_for_key_query  # nobody is queried again and again


def test_a_forged_device_signature_is_still_refused(tmp_path: Path) -> None:
    # The check only looks at shapes; the signature itself stays nio's to verify.
    residents = _residents(2)
    answer = _query_answer(residents)
    user, device, _ = residents[0]
    answer["device_keys"][user][device]["keys"][f"ed25519:{device}"] = (
        vodozemac.Account().ed25519_key.to_base64()
    )
    client = _client(tmp_path)
    assert client.olm is not None
    client.olm.handle_response(checked_query(answer))
    assert _known_devices(client) == {residents[1][1]}


def test_olm_sessions_are_made_for_every_well_formed_one_time_key(tmp_path: Path) -> None:
    residents = _residents(3)
    client = _client(tmp_path)
    assert client.olm is not None
    client.olm.handle_response(checked_query(_query_answer(residents)))
    claim = _claim_answer(residents)
    (user0, device0, _), (user1, device1, _) = residents[:2]
    claim["one_time_keys"][user0][device0] = {}  # no key at all
    claim["one_time_keys"][user1][device1] = {"signed_curve25519:AAAA": "not an object"}
    # nio's own reading lets both through, and its handler then raises inside the sync loop
    with pytest.raises((StopIteration, AttributeError)):
        client.olm.handle_response(KeysClaimResponse.from_dict(copy.deepcopy(claim)))

    response = checked_claim(claim)
    assert isinstance(response, KeysClaimResponse)
    client.olm.handle_response(response)
    with_session = {
        device
        for _, device, account in residents
        if client.olm.session_store.get(account.curve25519_key.to_base64())
    }
    assert with_session == {residents[2][1]}


def test_an_answer_without_its_map_is_an_error_not_a_crash() -> None:
    for body in (None, [], {"device_keys": []}, "<html>"):
        assert isinstance(checked_query(body), KeysQueryError)
    for body in (None, {}, {"one_time_keys": "x"}):
        assert isinstance(checked_claim(body), KeysClaimError)
