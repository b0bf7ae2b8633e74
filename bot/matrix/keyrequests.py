"""``/keys/query`` and ``/keys/claim`` for the bot, read with a check of our own.

matrix-nio validates both responses against a JSON schema before handing them to its Olm
machine. At municipality scale that validation is a large share of a room-key share's CPU:
about 0.15 ms per device for a key query (as much as verifying the device's signature), and
it rejects the whole response when a single device of a single user is malformed, so one
federated server's bad answer would keep every room from getting its keys. Here each device
is checked for exactly what nio's handlers read (identifiers, keys and signatures, and their
types); a malformed device is logged and left out, the rest go on. The checked answer is
built into nio's own ``KeysQueryResponse``/``KeysClaimResponse`` and given to
``receive_response``, so nio's bookkeeping (device store, users still to query, sessions made,
outbound sessions to drop) stays nio's.

The requests retry as nio's would with the client's config: a rate limit is waited out for
its ``retry_after_ms``, a lost connection is retried with nio's capped backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    KeysClaimError,
    KeysClaimResponse,
    KeysQueryError,
    KeysQueryResponse,
)

log = logging.getLogger(__name__)

KEYS_QUERY = "/_matrix/client/v3/keys/query"
KEYS_CLAIM = "/_matrix/client/v3/keys/claim"
RATE_LIMIT_WAIT_S = 5.0  # when a 429 names no retry_after_ms


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _signed(payload: Any) -> bool:
    """A signed JSON object as nio's signature check reads it: ``{user: {key id: sig}}``."""
    if not isinstance(payload, dict):
        return False
    signatures = payload.get("signatures")
    return isinstance(signatures, dict) and all(_is_str_map(s) for s in signatures.values())


def device_keys_usable(user_id: str, device_id: str, payload: Any) -> bool:
    """Whether a device's entry in a key query answer has what nio's handler reads."""
    return (
        _signed(payload)
        and payload.get("user_id") == user_id
        and payload.get("device_id") == device_id
        and _is_str_map(payload.get("keys"))
        and isinstance(payload.get("unsigned", {}), dict)
    )


def one_time_key_usable(user_id: str, device_id: str, keys: Any) -> bool:
    """Whether a device's entry in a key claim answer is one signed one-time key."""
    if not isinstance(keys, dict) or len(keys) != 1:
        return False
    key = next(iter(keys.values()))
    return _signed(key) and isinstance(key.get("key"), str)


Usable = Callable[[str, str, Any], bool]


def _usable_entries(
    body: Any, field: str, usable: Usable
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]] | None:
    """The ``{user: {device: entry}}`` map of an answer, less the malformed entries, and the
    answer's ``failures``; None when the answer has no such map at all."""
    if not isinstance(body, dict) or not isinstance(body.get(field), dict):
        return None
    kept: dict[str, dict[str, Any]] = {}
    dropped = 0
    for user_id, devices in body[field].items():
        if not isinstance(devices, dict):
            dropped += 1
            continue
        kept[user_id] = {d: e for d, e in devices.items() if usable(user_id, d, e)}
        dropped += len(devices) - len(kept[user_id])
    if dropped:
        log.warning("%s: left out %d malformed device entries", field, dropped)
    failures = body.get("failures")
    return kept, failures if isinstance(failures, dict) else {}


def checked_query(body: Any) -> KeysQueryResponse | KeysQueryError:
    """A key query answer with every malformed user or device left out (and logged)."""
    usable = _usable_entries(body, "device_keys", device_keys_usable)
    if usable is None:
        return KeysQueryError("the key query answer has no device_keys map")
    return KeysQueryResponse(*usable)


def checked_claim(body: Any) -> KeysClaimResponse | KeysClaimError:
    """A key claim answer with every malformed one-time key left out (and logged)."""
    usable = _usable_entries(body, "one_time_keys", one_time_key_usable)
    if usable is None:
        return KeysClaimError("the key claim answer has no one_time_keys map")
    return KeysClaimResponse(*usable)


async def _post(nio: AsyncClient, path: str, content: Mapping[str, Any]) -> tuple[int, Any]:
    """POST with nio's retry policy; returns the status and the decoded body (None if not JSON)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {nio.access_token}"}
    data = json.dumps(content)
    limited = timeouts = 0
    config = nio.config
    while True:
        try:
            response = await nio.send("POST", path, data, headers=headers)
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
        except (ClientConnectionError, TimeoutError):
            timeouts += 1
            if config.max_timeouts is not None and timeouts > config.max_timeouts:
                raise
            await asyncio.sleep(await nio.get_timeout_retry_wait_time(timeouts))
            continue
        if response.status != 429:
            return response.status, body
        limited += 1
        if config.max_limit_exceeded is not None and limited > config.max_limit_exceeded:
            return response.status, body
        wait_ms = body.get("retry_after_ms") if isinstance(body, dict) else None
        await asyncio.sleep(wait_ms / 1000 if isinstance(wait_ms, int) else RATE_LIMIT_WAIT_S)


def _refused(body: Any, status: int) -> tuple[str, str]:
    if isinstance(body, dict):
        return str(body.get("error", "")), str(body.get("errcode", status))
    return f"HTTP {status}", str(status)


async def query(nio: AsyncClient) -> KeysQueryResponse | KeysQueryError:
    """Query the device keys of every user nio wants queried, as ``AsyncClient.keys_query``."""
    users = nio.users_for_key_query
    status, body = await _post(nio, KEYS_QUERY, {"device_keys": {user: [] for user in users}})
    response = checked_query(body) if status == 200 else KeysQueryError(*_refused(body, status))
    await nio.receive_response(response)
    return response


async def claim(
    nio: AsyncClient, devices: Mapping[str, Iterable[str]]
) -> KeysClaimResponse | KeysClaimError:
    """Claim a signed one-time key of each device, as ``AsyncClient.keys_claim``."""
    content = {
        "one_time_keys": {
            user_id: dict.fromkeys(device_ids, "signed_curve25519")
            for user_id, device_ids in devices.items()
        }
    }
    status, body = await _post(nio, KEYS_CLAIM, content)
    response = checked_claim(body) if status == 200 else KeysClaimError(*_refused(body, status))
    await nio.receive_response(response)
    return response
