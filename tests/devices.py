"""Real E2EE device keys made cheaply with vodozemac, for tests and benchmarks that need devices.

A homeserver and matrix-nio check these signatures exactly as they check a phone's, so a device
made here costs the bot what a real one does, without running a full client per device.
"""

from __future__ import annotations

import json
from typing import Any

import vodozemac

ALGORITHMS = ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"]


def canonical(value: Any) -> str:
    """Matrix canonical JSON, the form signatures are made over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _signed(account: vodozemac.Account, user_id: str, device_id: str, obj: dict[str, Any]) -> Any:
    signature = account.sign(canonical(obj).encode()).to_base64()
    return {**obj, "signatures": {user_id: {f"ed25519:{device_id}": signature}}}


def device_keys(account: vodozemac.Account, user_id: str, device_id: str) -> dict[str, Any]:
    """The signed ``device_keys`` object of /keys/upload and /keys/query."""
    keys = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ALGORITHMS,
        "keys": {
            f"curve25519:{device_id}": account.curve25519_key.to_base64(),
            f"ed25519:{device_id}": account.ed25519_key.to_base64(),
        },
    }
    return dict(_signed(account, user_id, device_id, keys))


def one_time_keys(
    account: vodozemac.Account, user_id: str, device_id: str, count: int
) -> dict[str, Any]:
    """``count`` new signed one-time keys, as /keys/upload and /keys/claim carry them."""
    account.generate_one_time_keys(count)
    return {
        f"signed_curve25519:{key_id}": _signed(
            account, user_id, device_id, {"key": key.to_base64()}
        )
        for key_id, key in account.one_time_keys.items()
    }
