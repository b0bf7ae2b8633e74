"""The settings for invitation codes, sign-up and the alarm test, as an operator meets them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from tests.unit.test_settings import BASE, _cli


def test_admin_token_is_masked_by_check_config(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", **BASE, "BUURTBOT_ADMIN_TOKEN": "syt_zeer_geheim"}
    ok = _cli("check-config", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert '"admin_token": "**********"' in ok.stdout
    assert "zeer_geheim" not in ok.stdout + ok.stderr


def test_nested_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BUURTBOT_ALARM_TEST__ENABLED", "true")
    monkeypatch.setenv("BUURTBOT_ALARM_TEST__WEEKDAY", "monday")
    monkeypatch.setenv("BUURTBOT_SIGNUP__DIRECT_CHAT_SERVERS", '["gemeente.example"]')
    monkeypatch.setenv("BUURTBOT_INVITATIONS__PUBLIC_HOMESERVER", "https://matrix.example.nl/")
    settings = load_settings()
    assert settings.alarm_test.enabled and settings.alarm_test.weekday == "monday"
    assert settings.signup.direct_chat_servers == ["gemeente.example"]
    assert settings.invitations.public_homeserver == "https://matrix.example.nl"
    assert settings.admin_token is None


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"alarm_test": {"time": "25:00"}}, "alarm_test.time"),
        ({"alarm_test": {"weekday": "maandag"}}, "alarm_test.weekday"),
        ({"alarm_test": {"day_of_month": 0}}, "alarm_test.day_of_month"),
        ({"alarm_test": {"window_hours": 0}}, "alarm_test.window_hours"),
        ({"invitations": {"public_homeserver": "matrix.example.nl"}}, "invitations"),
        ({"invitations": {"default_uses": 0}}, "invitations.default_uses"),
    ],
)
def test_bad_values_name_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(homeserver="http://x", user_id="@a:b", password="p", **overrides)
    assert raised.value.problems[0].startswith(key), raised.value.problems
