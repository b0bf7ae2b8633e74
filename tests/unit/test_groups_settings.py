"""The [groups] settings: documented defaults, environment overrides, clear errors."""

from __future__ import annotations

import pytest

from bot.settings import GroupSettings, SettingsError, load_settings
from tests.unit.test_settings import ROOT, env  # noqa: F401 (the shared fixture)


def test_example_file_states_the_defaults() -> None:
    settings = load_settings(ROOT / "config" / "buurtbot.example.toml", password="x")
    assert settings.groups == GroupSettings()
    assert settings.groups.alias_prefix == "buurtpreventie-"
    assert settings.groups.room_version is None


@pytest.mark.usefixtures("env")
def test_environment_sets_nested_group_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUURTBOT_GROUPS__ROOM_VERSION", "10")
    monkeypatch.setenv("BUURTBOT_GROUPS__KICK", "40")
    settings = load_settings()
    assert settings.groups.room_version == "10" and settings.groups.kick == 40


@pytest.mark.parametrize(
    ("key", "value"),
    [("ALIAS_PREFIX", "Buurt Preventie"), ("HISTORY_VISIBILITY", "world_readable"),
     ("BAN", "101"), ("ROOM_VERSION", "12 ; drop")],
)  # fmt: skip
@pytest.mark.usefixtures("env")
def test_bad_group_settings_name_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(f"BUURTBOT_GROUPS__{key}", value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert f"groups.{key.lower()} (env BUURTBOT_GROUPS__{key})" in str(error.value)


@pytest.mark.usefixtures("env")
def test_group_levels_above_the_moderators_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUURTBOT_GROUPS__KICK", "60")
    with pytest.raises(SettingsError, match=r"groups.kick \(60\) is above moderator_power_level"):
        load_settings()
    monkeypatch.setenv("BUURTBOT_MODERATOR_POWER_LEVEL", "60")
    assert load_settings().groups.kick == 60
