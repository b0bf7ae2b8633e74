"""Invitation codes are easy to type and are found in a knock's reason however typed."""

from __future__ import annotations

import re

from bot.domain.invitation import codes_in, new_code, normal_code


def test_new_codes_are_two_groups_of_four_without_look_alikes() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", code), code
        assert re.search(r"[2-9]", code) and re.search(r"[A-Z]", code), code


def test_codes_are_found_in_a_knock_reason() -> None:
    assert codes_in("Hoi, ik woon op nr 12. Code: k7qm-3xpd") == ["K7QM-3XPD"]
    assert codes_in("vraag toegang met deze code K7QM3XPD") == ["K7QM-3XPD"]
    assert codes_in("K7QM3XPD en nog eens K7QM-3XPD") == ["K7QM-3XPD"]
    assert codes_in("ik woon in de Amstelveenseweg") == []  # a long word is not a code
    assert codes_in("toegangs verzoek, deze-code, 1182-1183") == []  # words, or digits alone
    assert codes_in(None) == []


def test_a_code_as_command_argument() -> None:
    assert normal_code(" k7qm-3xpd ") == "K7QM-3XPD"
    assert normal_code("K7QM-3XPD extra") is None
    assert normal_code("abc") is None
