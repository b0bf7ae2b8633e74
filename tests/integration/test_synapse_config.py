"""The Synapse configuration that docker compose uses really works.

No Docker engine is needed: the shared policy ``config/synapse/homeserver.yaml``
is exactly the file the ``synapse`` service loads, so starting a real Synapse
(the ``matrix-synapse`` package from the ``dev`` extra) with it plus a minimal
local file proves that Synapse accepts it. The compose-only deployment file
``config/synapse/compose.yaml`` is checked with Synapse's own config parser
(its PostgreSQL database is not reachable here, everything else is parsed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.devserver.synapse import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SYNAPSE_DIR = REPO / "config" / "synapse"
SHARED = SYNAPSE_DIR / "homeserver.yaml"
COMPOSE_SYNAPSE = SYNAPSE_DIR / "compose.yaml"
LOG_CONFIG = SYNAPSE_DIR / "log.config"

START_TIMEOUT = 120.0


def _write_local_config(directory: Path, port: int) -> Path:
    """The minimal deployment file a launcher adds to the shared policy."""
    local = {
        "server_name": "localhost",
        "report_stats": False,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "database": {
            "name": "sqlite3",
            "args": {"database": str(directory / "homeserver.db")},
        },
        "listeners": [
            {
                "port": port,
                "type": "http",
                "bind_addresses": ["127.0.0.1"],
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "signing_key_path": str(directory / "signing.key"),
        "media_store_path": str(directory / "media_store"),
        "pid_file": str(directory / "homeserver.pid"),
        "registration_shared_secret": "test-registration-secret",
        "macaroon_secret_key": "test-macaroon-secret",
        "form_secret": "test-form-secret",
        # The compose log config, so that file is exercised too.
        "log_config": str(LOG_CONFIG),
    }
    path = directory / "local.yaml"
    path.write_text(yaml.safe_dump(local), encoding="utf-8")
    return path


def _run_ok(command: list[str], directory: Path) -> str:
    """Run a helper process to completion; its stdout, or a failure showing all it printed."""
    done = subprocess.run(
        command, cwd=directory, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _generate_keys(command: list[str], directory: Path) -> None:
    """Synapse's own ``--generate-keys``, as the launcher and the container entrypoint run it."""
    _run_ok([*command, "--generate-keys"], directory)


def _http(url: str, *, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=body)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture
def synapse_with_shared_config(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    local = _write_local_config(tmp_path, port)
    base_cmd = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(SHARED), "-c", str(local)]
    log_path = tmp_path / "synapse.log"

    _generate_keys(base_cmd, tmp_path)

    with log_path.open("wb") as log:
        process = subprocess.Popen(base_cmd, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"Synapse exited with {process.returncode} during start-up:\n{_tail(log_path)}"
                )
            try:
                status, body = _http(f"{base_url}/health")
            except OSError:
                status, body = 0, b""
            if status == 200 and body == b"OK":
                break
            if time.monotonic() > deadline:
                pytest.fail(f"Synapse did not become healthy in time:\n{_tail(log_path)}")
            time.sleep(0.25)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_shared_homeserver_config_starts_synapse(synapse_with_shared_config: str) -> None:
    base_url = synapse_with_shared_config

    status, body = _http(f"{base_url}/health")
    assert (status, body) == (200, b"OK")

    status, body = _http(f"{base_url}/_matrix/client/versions")
    assert status == 200
    assert json.loads(body)["versions"]

    # The shared policy is in effect, not just parsed: registration needs a token ...
    status, body = _http(f"{base_url}/_matrix/client/v3/register", method="POST", body=b"{}")
    assert status == 401, body
    flows = json.loads(body)["flows"]
    assert flows and all("m.login.registration_token" in flow["stages"] for flow in flows)

    # ... and the room directory needs a login.
    status, body = _http(f"{base_url}/_matrix/client/v3/publicRooms")
    assert status == 401, body
    assert json.loads(body)["errcode"] == "M_MISSING_TOKEN"


# Runs in a child process so Synapse's and Twisted's import-time globals stay
# out of the test process. argv[1]: merged config (YAML), argv[2]: scratch dir.
_PARSE_SCRIPT = """
import json, sys
import yaml
from synapse.config.homeserver import HomeServerConfig

with open(sys.argv[1], encoding="utf-8") as f:
    merged = yaml.safe_load(f)
config = HomeServerConfig()
config.parse_config_dict(merged, config_dir_path=sys.argv[2], data_dir_path=sys.argv[2])
config.validate_config()
database = config.database.databases[0].config
(listener,) = config.server.listeners
print(json.dumps({
    "server_name": config.server.server_name,
    "enable_registration": config.registration.enable_registration,
    "registration_requires_token": config.registration.registration_requires_token,
    "registration_shared_secret": config.registration.registration_shared_secret,
    "form_secret": config.key.form_secret,
    "database_name": database["name"],
    "database_args": database["args"],
    "port": listener.port,
    "x_forwarded": listener.http_options.x_forwarded,
    "resources": sorted(
        name for res in listener.http_options.resources for name in res.names
    ),
}))
"""


def test_compose_deployment_config_parses(tmp_path: Path) -> None:
    """homeserver.yaml + compose.yaml as the synapse container loads them.

    File paths under /data and /config are redirected into tmp_path or the
    repository; the rest (listeners, database, secrets-by-path) is parsed by
    Synapse as is. Only the PostgreSQL connection itself is not made.
    """
    shared = yaml.safe_load(SHARED.read_text(encoding="utf-8"))
    compose_only = yaml.safe_load(COMPOSE_SYNAPSE.read_text(encoding="utf-8"))
    # Synapse's merge rule: later files replace top-level keys.
    merged = {**shared, **compose_only}

    # Nothing deployment-specific leaks into the shared policy.
    for key in (
        "server_name",
        "public_baseurl",
        "database",
        "listeners",
        "log_config",
        "media_store_path",
        "signing_key_path",
        "pid_file",
        "registration_shared_secret",
        "registration_shared_secret_path",
        "macaroon_secret_key",
        "macaroon_secret_key_path",
        "form_secret",
        "form_secret_path",
    ):
        assert key not in shared, f"{key} belongs in the deployment file, not homeserver.yaml"
    assert not any(key.startswith("rc_") for key in shared), "keep Synapse's default rate limits"

    # Paths the container resolves inside its volumes.
    assert merged["log_config"] == "/config/log.config"
    assert (SYNAPSE_DIR / Path(merged["log_config"]).name).is_file()
    for key in (
        "registration_shared_secret_path",
        "macaroon_secret_key_path",
        "form_secret_path",
        "signing_key_path",
        "media_store_path",
    ):
        assert merged[key].startswith("/data/"), key
    # No secret inline in the deployment file; the DB password comes from PGPASSWORD.
    for key in ("registration_shared_secret", "macaroon_secret_key", "form_secret"):
        assert key not in compose_only
    assert "password" not in compose_only["database"]["args"]

    for key in ("registration_shared_secret_path", "macaroon_secret_key_path", "form_secret_path"):
        secret = tmp_path / Path(merged[key]).name
        secret.write_text(f"{key}-not-a-real-secret\n", encoding="utf-8")
        merged[key] = str(secret)
    merged["log_config"] = str(LOG_CONFIG)
    merged["media_store_path"] = str(tmp_path / "media_store")
    merged["pid_file"] = str(tmp_path / "homeserver.pid")
    merged["signing_key_path"] = str(tmp_path / "signing.key")
    merged_path = tmp_path / "merged.yaml"
    merged_path.write_text(yaml.safe_dump(merged), encoding="utf-8")

    # The signing key, as the container's entrypoint creates it.
    _generate_keys(
        [sys.executable, "-m", "synapse.app.homeserver", "-c", str(merged_path)], tmp_path
    )

    parsed = _run_ok(
        [sys.executable, "-c", _PARSE_SCRIPT, str(merged_path), str(tmp_path)], tmp_path
    )
    facts = json.loads(parsed.strip().splitlines()[-1])

    assert facts["server_name"] == compose_only["server_name"]
    assert facts["enable_registration"] is True
    assert facts["registration_requires_token"] is True
    assert facts["registration_shared_secret"] == (
        "registration_shared_secret_path-not-a-real-secret"
    )
    assert facts["form_secret"] == "form_secret_path-not-a-real-secret"
    assert facts["database_name"] == "psycopg2"
    args = facts["database_args"]
    assert (args["host"], args["dbname"], args["user"]) == ("postgres", "synapse", "synapse")
    assert "password" not in args
    assert facts["port"] == 8008
    assert facts["x_forwarded"] is True
    assert {"client", "federation"} <= set(facts["resources"])
