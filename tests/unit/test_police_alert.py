"""Parsing "!alarm" police alerts and "!alarm einde"."""

from __future__ import annotations

import pytest

from bot.domain.police_alert import (
    DEFAULT_ACTION,
    FIELD_LABELS,
    FIELD_ORDER,
    MISSING_IDENTIFYING,
    AlertEndError,
    AlertEndErrorCode,
    AlertField,
    is_alert_end,
    parse_alert,
    parse_alert_end,
)

FULL = """Wat: Woninginbraak, dader op de vlucht
Signalement: man, ca. 1.85 m, zwarte jas,
  grijze joggingbroek, witte sneakers
Voertuig: witte Opel Corsa
Kenteken: GF-214-N
Locatie: Dorpsstraat 12, Rijnsburg
Richting: N206 richting Leiden
Actie: Zie je iets? Bel direct 112."""


def test_a_complete_alert_is_parsed_field_by_field() -> None:
    result = parse_alert(FULL)
    assert result.ok and result.missing == [] and result.unknown == []
    alert = result.fields
    assert alert.what == "Woninginbraak, dader op de vlucht"
    assert alert.description == "man, ca. 1.85 m, zwarte jas,\ngrijze joggingbroek, witte sneakers"
    assert alert.vehicle == "witte Opel Corsa"
    assert alert.plate == "GF-214-N"
    assert alert.location == "Dorpsstraat 12, Rijnsburg"
    assert alert.direction == "N206 richting Leiden"
    assert alert.action == "Zie je iets? Bel direct 112."
    assert [f for f, _ in alert.items()] == list(FIELD_ORDER)


def test_english_names_any_case_accents_and_spaces_before_the_colon() -> None:
    result = parse_alert(
        "WHAT: Robbery at petrol station\nDescription : two men, balaclavas\n"
        "LOCATIÓN: A44 exit 7\nlicence plate: 1-ABC-234\nDirection: north"
    )
    assert result.ok
    assert result.fields.what == "Robbery at petrol station"
    assert result.fields.plate == "1-ABC-234"
    assert result.fields.location == "A44 exit 7"
    assert result.fields.direction == "north"


def test_missing_fields_are_listed() -> None:
    result = parse_alert("Signalement: vrouw, rode jas")
    assert not result.ok
    assert result.missing == ["wat", "locatie"]


def test_one_of_description_vehicle_or_plate_is_required() -> None:
    result = parse_alert("wat: overval\nlocatie: Jumbo Kerkstraat")
    assert result.missing == [MISSING_IDENTIFYING]
    assert parse_alert("wat: overval\nlocatie: Jumbo\nkenteken: VNL-38-P").ok
    assert parse_alert("wat: overval\nlocatie: Jumbo\nvoertuig: rode scooter").ok


def test_action_defaults_to_calling_112() -> None:
    result = parse_alert("wat: x\nlocatie: y\nsignalement: z")
    assert result.fields.action == DEFAULT_ACTION
    assert "112" in DEFAULT_ACTION
    custom = parse_alert("wat: x\nlocatie: y\nsignalement: z", default_action="Bel 101.")
    assert custom.fields.action == "Bel 101."


def test_unknown_fields_are_reported_but_their_text_is_not_lost() -> None:
    result = parse_alert(
        "wat: inbraak\nlocatie: Dorpsstraat\nsignalement: man\nOpmerking: gewapend"
    )
    assert result.unknown == ["Opmerking"]
    assert "Opmerking: gewapend" in result.fields.description
    assert result.ok


def test_sentences_with_colons_and_links_stay_in_the_value() -> None:
    result = parse_alert(
        "wat: vermissing\nLet op: hij is in de war\nom 14:30 gezien\n"
        "https://politie.nl/opsporing\nlocatie: park\nsignalement: man, 80 jaar"
    )
    assert result.unknown == []
    assert result.fields.what == (
        "vermissing\nLet op: hij is in de war\nom 14:30 gezien\nhttps://politie.nl/opsporing"
    )


def test_text_before_the_first_field_is_what_happened() -> None:
    result = parse_alert("Overval tankstation Shell\nlocatie: A4\nsignalement: twee mannen")
    assert result.ok
    assert result.fields.what == "Overval tankstation Shell"


def test_empty_field_values_count_as_missing() -> None:
    assert parse_alert("wat:\nlocatie: x\nkenteken:  ").missing == ["wat", MISSING_IDENTIFYING]


def test_labels_exist_in_both_languages_for_every_field() -> None:
    for alert_field in AlertField:
        assert FIELD_LABELS[alert_field]["nl"] and FIELD_LABELS[alert_field]["en"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("3", (3, None)),
        ("3 dader aangehouden", (3, "dader aangehouden")),
        ("#12: actie beëindigd", (12, "actie beëindigd")),
        ("einde 7 bedankt voor het uitkijken", (7, "bedankt voor het uitkijken")),
    ],
)
def test_alert_end_takes_a_number_and_optional_text(
    args: str, expected: tuple[int, str | None]
) -> None:
    assert parse_alert_end(args) == expected


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ("", AlertEndErrorCode.MISSING_NUMBER),
        ("einde", AlertEndErrorCode.MISSING_NUMBER),
        ("drie", AlertEndErrorCode.INVALID_NUMBER),
        ("0", AlertEndErrorCode.INVALID_NUMBER),
        ("-4", AlertEndErrorCode.INVALID_NUMBER),
        ("٣", AlertEndErrorCode.INVALID_NUMBER),
        ("12345678901", AlertEndErrorCode.INVALID_NUMBER),
    ],
)
def test_alert_end_errors(args: str, code: AlertEndErrorCode) -> None:
    with pytest.raises(AlertEndError) as excinfo:
        parse_alert_end(args)
    assert excinfo.value.code is code


def test_alert_end_keyword_is_recognised_in_dutch_and_english() -> None:
    assert is_alert_end("einde 3")
    assert is_alert_end("Beëindigd 3")
    assert is_alert_end("end 3")
    assert not is_alert_end("wat: einde van de straat")
    assert not is_alert_end("")
