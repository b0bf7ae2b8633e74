"""What docker-compose.yml promises operators, checked without a Docker engine.

The file is read with PyYAML, validated against the Compose Specification's JSON schema
(vendored in tests/data, see its README) with ``jsonschema``, and its structure checked. When a
working ``docker compose`` (v2 plugin) or ``docker-compose`` (v1) command is present,
``config -q`` is run as well; without one that test is reported as skipped, with the reason.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
SYNAPSE_CONFIG_DIR = REPO / "config" / "synapse"
COMPOSE_SCHEMA = REPO / "tests" / "data" / "compose-spec.json"

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _services() -> dict[str, Any]:
    return _compose()["services"]


def _named_volume_for(service: dict[str, Any], target: str) -> str:
    for volume in service.get("volumes", []):
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            return source
    raise AssertionError(f"no volume mounted at {target}")


def _depends_condition(service: dict[str, Any], other: str) -> str | None:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):  # short form has no condition
        return None
    return (depends.get(other) or {}).get("condition")


def _schema_errors(document: Any) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_compose_file_follows_the_compose_specification() -> None:
    """What ``docker compose config`` checks first, without the CLI: the compose-spec schema."""
    assert _schema_errors(_compose()) == []
    # The schema is strict enough to catch the typos that matter (a misspelt key is ignored by
    # YAML, silently dropping a healthcheck) and wrong types.
    typo = copy.deepcopy(_compose())
    typo["services"]["bot"]["healthchek"] = typo["services"]["bot"].pop("healthcheck")
    assert any("healthchek" in error for error in _schema_errors(typo))
    wrong_type = copy.deepcopy(_compose())
    wrong_type["services"]["synapse"]["ports"] = "8008"
    assert _schema_errors(wrong_type)


def test_three_services_and_no_obsolete_version_key() -> None:
    compose = _compose()
    assert set(compose["services"]) == {"postgres", "synapse", "bot"}
    assert "version" not in compose


def test_every_service_has_a_healthcheck() -> None:
    for name, service in _services().items():
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name


def test_state_lives_in_named_volumes() -> None:
    services = _services()
    declared = set(_compose().get("volumes") or {})
    mounts = {
        "postgres": _named_volume_for(services["postgres"], "/var/lib/postgresql/data"),
        "synapse": _named_volume_for(services["synapse"], "/data"),
        "bot": _named_volume_for(services["bot"], "/data"),
    }
    for service, volume in mounts.items():
        assert volume in declared, f"{service} data must be a named volume, got {volume}"
    assert len(set(mounts.values())) == 3, "each service needs its own data volume"


def test_synapse_runs_the_repository_config() -> None:
    synapse = _services()["synapse"]
    assert re.fullmatch(r"matrixdotorg/synapse:v1\.163\.\d+", synapse["image"])

    # config/synapse is mounted read-only at /config.
    mounts = {v.split(":")[1]: v for v in synapse["volumes"]}
    assert mounts["/config"] == "./config/synapse:/config:ro"

    # Every /config/... file the entrypoint and command name exists in the repo.
    argv = [*synapse["entrypoint"], *synapse["command"]]
    referenced = [arg for arg in argv if arg.startswith("/config/")]
    assert "/config/homeserver.yaml" in referenced
    assert "/config/compose.yaml" in referenced
    for path in referenced:
        assert (SYNAPSE_CONFIG_DIR / path.removeprefix("/config/")).is_file(), path

    # Both Synapse config files are given, shared policy first.
    command = synapse["command"]
    configs = [command[i + 1] for i, arg in enumerate(command) if arg in ("-c", "--config-path")]
    assert configs == ["/config/homeserver.yaml", "/config/compose.yaml"]

    # compose.yaml's own file references point into the same mount.
    deployment = yaml.safe_load((SYNAPSE_CONFIG_DIR / "compose.yaml").read_text(encoding="utf-8"))
    assert (SYNAPSE_CONFIG_DIR / deployment["log_config"].removeprefix("/config/")).is_file()


def test_synapse_port_is_bound_to_localhost_only() -> None:
    ports = _services()["synapse"].get("ports", [])
    assert ports
    for port in ports:
        assert str(port).startswith("127.0.0.1:"), port
    for name in ("postgres", "bot"):
        assert not _services()[name].get("ports"), f"{name} must not publish ports"


def test_start_order_waits_for_health() -> None:
    services = _services()
    assert _depends_condition(services["bot"], "synapse") == "service_healthy"
    assert _depends_condition(services["synapse"], "postgres") == "service_healthy"


def test_postgres_is_initialised_the_way_synapse_requires() -> None:
    postgres = _services()["postgres"]
    assert postgres["image"].startswith("postgres:16")
    env = postgres["environment"]
    initdb = env["POSTGRES_INITDB_ARGS"]
    assert "--lc-collate=C" in initdb
    assert "--lc-ctype=C" in initdb
    assert "--encoding=UTF-8" in initdb
    assert env["POSTGRES_USER"] == "synapse"
    assert env["POSTGRES_DB"] == "synapse"
    # The password is required and shared with Synapse through PGPASSWORD.
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    synapse_env = _services()["synapse"]["environment"]
    assert synapse_env["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_bot_service_settings() -> None:
    bot = _services()["bot"]
    assert bot["build"] == "."
    assert bot["env_file"] in (".env", [".env"])
    env = bot["environment"]
    assert env["BUURTBOT_DATA_DIR"] == "/data"
    assert "http://synapse:8008" in env["BUURTBOT_HOMESERVER"]
    mounts = {v.split(":")[1]: v for v in bot["volumes"]}
    assert mounts["/app/config"] == "./config:/app/config:ro"


def test_env_example_names_every_compose_variable() -> None:
    used = set(VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    assert "POSTGRES_PASSWORD" in used
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    missing = used - named
    assert not missing, f".env.example does not mention {sorted(missing)}"
    # What the bot needs from .env (it is its env_file).
    for name in (
        "BUURTBOT_USER_ID",
        "BUURTBOT_PASSWORD",
        "BUURTBOT_COORDINATION_ROOM",
        "BUURTBOT_POLICE_USERS",
        "BUURTBOT_ALLOWED_INVITERS",
        "BUURTBOT_LANGUAGE",
    ):
        assert name in named, name


def test_dockerfile_runs_buurtbot_as_non_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["buurtbot"]' in dockerfile
    assert 'CMD ["run"]' in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored
    assert ".venv" in ignored


def _working_compose_command() -> list[str] | None:
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        try:
            probe = subprocess.run(
                [*command, "version"], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return command
    return None


def test_docker_compose_config_is_valid(tmp_path: Path) -> None:
    """`docker compose config -q` succeeds with the values from .env.example."""
    command = _working_compose_command()
    if command is None:
        # Our machines run no Docker engine and have no compose CLI, so this check can only run
        # where an operator has one. What it guards is still checked here without a CLI: the
        # compose file against the compose-spec JSON schema
        # (test_compose_file_follows_the_compose_specification), its variables against
        # .env.example and its Synapse config, by the other tests in this file.
        pytest.skip("no working `docker compose` or `docker-compose` CLI here; the schema test ran")

    # A scratch project directory, so a real .env in the repository is never
    # read or needed (compose resolves .env and env_file relative to it).
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    # Variables from the calling shell would override .env: leave them out.
    used = set(VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    env = {k: v for k, v in os.environ.items() if k not in used and not k.startswith("COMPOSE_")}

    def compose_config() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "-f", "docker-compose.yml", "config", "-q"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    result = compose_config()
    assert result.returncode == 0, result.stdout + result.stderr

    # Without the required secret, compose refuses (the ${VAR:?} promise).
    (tmp_path / ".env").write_text("BUURTBOT_LANGUAGE=nl\n", encoding="utf-8")
    result = compose_config()
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stdout + result.stderr
