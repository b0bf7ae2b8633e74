"""Configuration as an operator meets it: env, .env, TOML, clear one-line errors."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "BUURTBOT_HOMESERVER": "https://matrix.example.nl",
    "BUURTBOT_USER_ID": "@buurtbot:example.nl",
    "BUURTBOT_PASSWORD": "geheim-wachtwoord",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env or config/buurtbot.toml
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_runs_from_environment_alone(env: pytest.MonkeyPatch) -> None:
    env.setenv("BUURTBOT_POLICE_USERS", '["@wijkagent:example.nl"]')
    env.setenv("BUURTBOT_ALLOWED_INVITERS", '["*:example.nl"]')
    env.setenv("BUURTBOT_INCIDENTS__EMERGENCY_NUMBER", "101")
    settings = load_settings()
    assert settings.language == "nl"
    assert settings.is_police("@wijkagent:example.nl")
    assert settings.inviter_allowed("@anyone:example.nl")
    assert not settings.inviter_allowed("@anyone:evil.example")
    assert not settings.inviter_allowed("@anyone:example.nl.evil.example")
    assert settings.incidents.emergency_number == "101"


def test_toml_file_and_env_precedence(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('language = "en"\ncoordination_room = "#beheer:example.nl"\n')
    env.setenv("BUURTBOT_LANGUAGE", "nl")
    settings = load_settings(config)
    assert settings.coordination_room == "#beheer:example.nl"
    assert settings.language == "nl", "environment wins over the file"


def test_dotenv_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BUURTBOT_COORDINATION_ROOM=!abc:example.nl\n")
    assert load_settings().coordination_room == "!abc:example.nl"


def test_v12_room_id_without_server_is_accepted(env: pytest.MonkeyPatch) -> None:
    env.setenv("BUURTBOT_COORDINATION_ROOM", "!HjXDXcYcT1HHN73poVvE9-aHJG3q0du30zcqD0n9CIM")
    assert load_settings().coordination_room.startswith("!HjX")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("BUURTBOT_USER_ID", "buurtbot", "user_id"),
        ("BUURTBOT_HOMESERVER", "matrix.example.nl", "homeserver"),
        ("BUURTBOT_LANGUAGE", "de", "language"),
        ("BUURTBOT_COORDINATION_ROOM", "beheerders", "coordination_room"),
        ("BUURTBOT_ALLOWED_INVITERS", '["iedereen"]', "allowed_inviters.0"),
        ("BUURTBOT_MODERATOR_POWER_LEVEL", "500", "moderator_power_level"),
        ("BUURTBOT_INCIDENTS__EMERGENCY_NUMBER", "bel maar", "incidents.emergency_number"),
    ],
)
def test_bad_value_names_the_key(
    env: pytest.MonkeyPatch, key: str, value: str, expected: str
) -> None:
    env.setenv(key, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value


def test_missing_credentials(env: pytest.MonkeyPatch) -> None:
    env.delenv("BUURTBOT_PASSWORD")
    with pytest.raises(SettingsError, match="password or access_token"):
        load_settings()


def test_named_config_file_must_exist(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_never_printed(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert "geheim" not in repr(settings)
    assert "geheim" not in str(settings.masked())


def test_example_file_documents_valid_settings() -> None:
    example = tomllib.loads((ROOT / "config" / "buurtbot.example.toml").read_text())
    settings = load_settings(ROOT / "config" / "buurtbot.example.toml", password="x")
    assert settings.homeserver == example["homeserver"]


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_check_config_cli(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", **BASE}
    ok = _cli("check-config", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert '"password": "**********"' in ok.stdout
    assert "geheim" not in ok.stdout + ok.stderr

    bad = _cli("check-config", env={**env, "BUURTBOT_LANGUAGE": "fr"}, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("config error: language (env BUURTBOT_LANGUAGE):")
    assert "Traceback" not in bad.stderr
