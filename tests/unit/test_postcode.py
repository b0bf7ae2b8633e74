"""Dutch and Belgian postcodes and area ranges, as residents and moderators type them."""

from __future__ import annotations

import pytest

from bot.domain.postcode import (
    Postcode,
    PostcodeError,
    PostcodeProblem,
    PostcodeRange,
    describe_ranges,
    parse_postcode,
    parse_ranges,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1182 AB", Postcode(1182, "AB")),
        ("1182ab", Postcode(1182, "AB")),
        ("  1182   ab ", Postcode(1182, "AB")),
        ("1182-AB", Postcode(1182, "AB")),
        ("NL-1182 AB", Postcode(1182, "AB")),
        ("9999 ZZ", Postcode(9999, "ZZ")),
        ("1000", Postcode(1000)),  # Brussel, or a Dutch postcode without letters
        ("B-2000", Postcode(2000)),
        ("be 9000", Postcode(9000)),
    ],
)
def test_valid_postcodes(text: str, expected: Postcode) -> None:
    assert parse_postcode(text) == expected
    assert parse_postcode(text).area == str(expected.digits)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", PostcodeProblem.EMPTY),
        ("   ", PostcodeProblem.EMPTY),
        ("0000", PostcodeProblem.LEADING_ZERO),
        ("0182 AB", PostcodeProblem.LEADING_ZERO),
        ("1182 A1", PostcodeProblem.NOT_LETTERS),
        ("1182 12", PostcodeProblem.NOT_LETTERS),
        ("1182 ÄB", PostcodeProblem.NOT_LETTERS),
        ("1182 ?!", PostcodeProblem.NOT_LETTERS),
        ("1182 SS", PostcodeProblem.UNUSED_PAIR),
        ("1182 sa", PostcodeProblem.UNUSED_PAIR),
        ("1182 SD", PostcodeProblem.UNUSED_PAIR),
        ("B-1000 AB", PostcodeProblem.BELGIAN_LETTERS),
        ("Amstelveen", PostcodeProblem.NOT_A_POSTCODE),
        ("118", PostcodeProblem.NOT_A_POSTCODE),
        ("11822", PostcodeProblem.NOT_A_POSTCODE),
        ("1182 ABC", PostcodeProblem.NOT_A_POSTCODE),
        ("1182 AB 3", PostcodeProblem.NOT_A_POSTCODE),
        ("١١٨٢ AB", PostcodeProblem.NOT_A_POSTCODE),  # Arabic-Indic digits are not postcodes
    ],
)
def test_malformed_postcodes_say_why(text: str, problem: PostcodeProblem) -> None:
    with pytest.raises(PostcodeError) as raised:
        parse_postcode(text)
    assert raised.value.problem is problem


def test_ranges_are_parsed_sorted_and_merged() -> None:
    assert parse_ranges("1187 1181-1183") == [PostcodeRange(1181, 1183), PostcodeRange(1187, 1187)]
    assert parse_ranges("1181 - 1183, 1184;1190") == [
        PostcodeRange(1181, 1184),
        PostcodeRange(1190, 1190),
    ]
    assert parse_ranges("1181-1185 1183-1189") == [PostcodeRange(1181, 1189)]
    assert describe_ranges(parse_ranges("1181-1183 1187")) == "1181-1183 1187"
    assert PostcodeRange(1181, 1183).covers(1182)
    assert not PostcodeRange(1181, 1183).covers(1187)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", PostcodeProblem.EMPTY),
        ("1189-1181", PostcodeProblem.REVERSED_RANGE),
        ("0000-1000", PostcodeProblem.LEADING_ZERO),
        ("1181-abcd", PostcodeProblem.NOT_A_POSTCODE),
        ("1181 AB", PostcodeProblem.NOT_A_POSTCODE),
        ("118-119", PostcodeProblem.NOT_A_POSTCODE),
        (" ".join(str(1000 + i) for i in range(51)), PostcodeProblem.TOO_MANY_RANGES),
    ],
)
def test_bad_ranges_say_why(text: str, problem: PostcodeProblem) -> None:
    with pytest.raises(PostcodeError) as raised:
        parse_ranges(text)
    assert raised.value.problem is problem
