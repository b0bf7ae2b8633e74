"""Resolving who "!mute", "!kick" and friends are about."""

from __future__ import annotations

import pytest

from bot.domain.targets import (
    Ambiguous,
    Found,
    Malformed,
    NotFound,
    extract_pills,
    is_valid_user_id,
    parse_user_reference,
    split_target_and_rest,
)

MEMBERS = {
    "@jan:buurt.nl": "Jan de Vries",
    "@jan.b:buurt.nl": "Jan",
    "@piet:buurt.nl": "Piet",
    "@piet2:example.org": "piet",
    "@fatima:buurt.nl": "Fátima El Amrani",
    "@kees:buurt.nl": "",
}


def pill(user_id: str, name: str, encoded: bool = False) -> str:
    target = user_id.replace("@", "%40").replace(":", "%3A") if encoded else user_id
    return f'<a href="https://matrix.to/#/{target}">{name}</a>'


@pytest.mark.parametrize(
    "user_id",
    [
        "@jan:buurt.nl",
        "@jan:buurt.nl:8448",
        "@a:[::1]:8448",
        "@a:127.0.0.1",
        "@Old.Style!user:example.org",  # historical localparts are still valid
        "@" + "a" * 240 + ":x.nl",
    ],
)
def test_valid_user_ids_are_accepted(user_id: str) -> None:
    assert is_valid_user_id(user_id)
    assert parse_user_reference(user_id) == Found(user_id)


@pytest.mark.parametrize(
    "user_id",
    ["@:buurt.nl", "@jan:", "@jan de vries:buurt.nl", "@jan:bu_urt.nl", "@" + "a" * 260 + ":x.nl"],
)
def test_malformed_user_ids_are_rejected(user_id: str) -> None:
    assert not is_valid_user_id(user_id)
    result = parse_user_reference(user_id)
    assert isinstance(result, Malformed)
    assert result.reason == "invalid_user_id"


def test_a_non_ascii_localpart_is_rejected() -> None:
    assert isinstance(parse_user_reference("@jân:buurt.nl"), Malformed)


@pytest.mark.parametrize(
    "link",
    [
        "https://matrix.to/#/@jan:buurt.nl",
        "https://matrix.to/#/%40jan%3Abuurt.nl",
        "https://matrix.to/#/@jan:buurt.nl?via=buurt.nl",
        "matrix:u/jan:buurt.nl",
        "matrix:u/jan%3Abuurt.nl?action=chat",
    ],
)
def test_links_to_a_user_resolve(link: str) -> None:
    assert parse_user_reference(link) == Found("@jan:buurt.nl")


def test_links_to_rooms_or_websites_are_not_users() -> None:
    assert parse_user_reference("https://matrix.to/#/!room:buurt.nl") == Malformed(
        "https://matrix.to/#/!room:buurt.nl", "not_a_user_link"
    )
    assert isinstance(parse_user_reference("https://example.org/@jan"), Malformed)


def test_a_pill_resolves_by_its_display_text() -> None:
    body = f"!kick {pill('@jan:buurt.nl', 'Jan de Vries', encoded=True)}"
    assert parse_user_reference("Jan de Vries", body) == Found("@jan:buurt.nl")


def test_pills_are_found_in_html_but_room_links_are_skipped() -> None:
    html = (
        f"{pill('@a:x.nl', 'A &amp; B')} and "
        '<a href="https://matrix.to/#/#room:x.nl">room</a> '
        '<a href="https://example.org">web</a>'
    )
    pills = extract_pills(html)
    assert [(p.user_id, p.text) for p in pills] == [("@a:x.nl", "A & B")]
    assert extract_pills(None) == []
    assert extract_pills("<![x[ <a href='") == []


@pytest.mark.parametrize("query", ["Piet", "piet", "@piet", "PIET"])
def test_display_names_shared_by_two_members_are_ambiguous(query: str) -> None:
    result = parse_user_reference(query, None, MEMBERS)
    assert result == Ambiguous(query, ("@piet2:example.org", "@piet:buurt.nl"))


@pytest.mark.parametrize(
    ("query", "user_id"),
    [
        ("jan de vries", "@jan:buurt.nl"),
        ("@Jan", "@jan.b:buurt.nl"),
        ("fátima el amrani", "@fatima:buurt.nl"),
        ("kees", "@kees:buurt.nl"),  # no display name: the localpart works
    ],
)
def test_a_unique_display_name_finds_the_member(query: str, user_id: str) -> None:
    assert parse_user_reference(query, None, MEMBERS) == Found(user_id)


def test_unknown_names_and_empty_arguments() -> None:
    assert parse_user_reference("Klaas", None, MEMBERS) == NotFound("Klaas")
    assert parse_user_reference("Klaas") == NotFound("Klaas")
    assert parse_user_reference("  ") == Malformed("  ", "empty")


def test_element_pill_with_spaces_in_the_name_is_split_from_the_rest() -> None:
    body = f"!mute {pill('@jan:buurt.nl', 'Jan de Vries')} 30m reclame"
    target, rest = split_target_and_rest("Jan de Vries 30m reclame", body, MEMBERS)
    assert target == Found("@jan:buurt.nl")
    assert rest == "30m reclame"


def test_the_pill_wins_over_a_member_with_a_shorter_matching_name() -> None:
    body = pill("@jan:buurt.nl", "Jan de Vries")
    assert split_target_and_rest("Jan de Vries: 1d", body, MEMBERS) == (
        Found("@jan:buurt.nl"),
        "1d",
    )


def test_longest_member_name_is_split_without_a_pill() -> None:
    assert split_target_and_rest("jan de vries 2u", None, MEMBERS) == (
        Found("@jan:buurt.nl"),
        "2u",
    )
    assert split_target_and_rest("Jan 2u", None, MEMBERS) == (Found("@jan.b:buurt.nl"), "2u")


def test_a_name_must_end_at_a_word_boundary() -> None:
    target, rest = split_target_and_rest("Pieter 2u", None, MEMBERS)
    assert target == NotFound("Pieter")
    assert rest == "2u"


def test_mxid_and_ambiguous_names_in_split() -> None:
    assert split_target_and_rest("@x:y.nl 1h spam", None, MEMBERS) == (Found("@x:y.nl"), "1h spam")
    target, rest = split_target_and_rest("piet 1h", None, MEMBERS)
    assert isinstance(target, Ambiguous)
    assert rest == "1h"
    assert split_target_and_rest("", None, MEMBERS) == (Malformed("", "empty"), "")
