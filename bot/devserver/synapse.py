"""A real Synapse on loopback, from the installed ``matrix-synapse`` package, no Docker.

Used by ``buurtbot dev`` and by the test suite alike, so what developers click through is what
the tests exercise. It runs the same shared policy file Docker Compose mounts
(``config/synapse/homeserver.yaml``) plus a generated local file with what differs on a laptop:
server name ``localhost``, SQLite, one loopback listener, paths under the data directory and
secrets generated once and kept there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.resources import config_dir

log = logging.getLogger(__name__)

SERVER_NAME = "localhost"


class SynapseError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalSynapse:
    """One homeserver process with its own directory; ``start`` is idempotent over restarts."""

    base_dir: Path
    port: int = field(default_factory=free_port)
    extra_config: dict[str, Any] = field(default_factory=dict)
    server_name: str = SERVER_NAME
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def shared_config(self) -> Path:
        return config_dir() / "synapse" / "homeserver.yaml"

    @property
    def registration_secret(self) -> str:
        return str(self._secrets()["registration_shared_secret"])

    def _secrets(self) -> dict[str, str]:
        path = self.base_dir / "secrets.json"
        if not path.exists():
            values = {
                name: secrets.token_urlsafe(32)
                for name in ("registration_shared_secret", "macaroon_secret_key", "form_secret")
            }
            path.write_text(json.dumps(values))
            path.chmod(0o600)
        return dict(json.loads(path.read_text()))

    def _write_local_config(self) -> Path:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        base = self.base_dir.resolve()
        (base / "media").mkdir(exist_ok=True)
        log_config = base / "log.yaml"
        log_config.write_text(_LOG_CONFIG.format(path=base / "homeserver.log"))
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": f"{self.url}/",
            "pid_file": str(base / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(base / "homeserver.db")}},
            "media_store_path": str(base / "media"),
            "signing_key_path": str(base / "signing.key"),
            "log_config": str(log_config),
            # No internet here: never reach out to other servers' keys or matrix.org.
            "trusted_key_servers": [],
            "federation_domain_whitelist": [],
            **self._secrets(),
            **self.extra_config,
        }
        path = base / "local.yaml"
        # JSON is valid YAML, and needs no extra dependency at run time.
        path.write_text(json.dumps(config, indent=2))
        return path

    def _command(self, local: Path, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "-c",
            str(self.shared_config),
            "-c",
            str(local),
            *extra,
        ]

    async def start(self, wait_s: float = 90.0) -> None:
        try:
            import synapse  # noqa: F401
        except ImportError as exc:
            raise SynapseError(
                "matrix-synapse is not installed; install the dev extra: pip install -e '.[dev]'"
            ) from exc
        local = self._write_local_config()
        if not (self.base_dir / "signing.key").exists():
            generated = await asyncio.to_thread(
                subprocess.run,
                self._command(local, "--generate-keys"),
                capture_output=True,
                text=True,
            )
            if generated.returncode != 0:
                raise SynapseError(f"synapse --generate-keys failed: {generated.stderr[-2000:]}")
        stderr = (self.base_dir / "stderr.log").open("ab")
        self._process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, not awaited
            self._command(local),
            stdout=stderr,
            stderr=stderr,
            cwd=self.base_dir,
            start_new_session=True,  # Ctrl-C in a terminal goes to us; we stop it cleanly
        )
        await self._wait_healthy(wait_s)
        log.info("synapse up at %s (data in %s)", self.url, self.base_dir)

    async def _wait_healthy(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise SynapseError(f"synapse exited at start:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.25)
        await self.stop()
        raise SynapseError(f"synapse not healthy after {wait_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for name in ("stderr.log", "homeserver.log"):
            path = self.base_dir / name
            if path.exists():
                tails.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(tails)

    async def stop(self, grace_s: float = 20.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    async def register(
        self, username: str, password: str | None = None, *, admin: bool = False
    ) -> RegisteredUser:
        """Create an account with the shared-secret admin API (no open registration needed)."""
        password = password or secrets.token_urlsafe(18)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as http:
            async with http.get(endpoint) as response:
                nonce = (await response.json())["nonce"]
            mac = hmac.new(self.registration_secret.encode(), digestmod=hashlib.sha1)
            mac.update(
                b"\x00".join(
                    [
                        nonce.encode(),
                        username.encode(),
                        password.encode(),
                        b"admin" if admin else b"notadmin",
                    ]
                )
            )
            body = {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            async with http.post(endpoint, json=body) as response:
                data = await response.json()
                if response.status != 200:
                    raise SynapseError(f"registering {username} failed: {data}")
        return RegisteredUser(data["user_id"], password, data["access_token"], data["device_id"])

    async def exempt_from_ratelimit(self, admin_token: str, user_id: str) -> None:
        """What the operator docs tell admins to do for the bot, via the same admin API."""
        url = f"{self.url}/_synapse/admin/v1/users/{user_id}/override_ratelimit"
        headers = {"Authorization": f"Bearer {admin_token}"}
        async with aiohttp.ClientSession() as http:
            body = {"messages_per_second": 0, "burst_count": 0}
            async with http.post(url, json=body, headers=headers) as response:
                if response.status != 200:
                    raise SynapseError(f"override_ratelimit failed: {await response.text()}")


@dataclass(frozen=True, slots=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str

    def __repr__(self) -> str:
        return f"RegisteredUser({self.user_id!r})"


_LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.handlers.RotatingFileHandler
    formatter: precise
    filename: {path}
    maxBytes: 10485760
    backupCount: 2
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
"""
