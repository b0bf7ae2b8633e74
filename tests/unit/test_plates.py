"""Plates end up in alerts to police and coordinators: right ones found, false ones never."""

import pytest

from bot.domain.plates import PLATE_NORMAL_FORM, extract_plates, normalize_plate

# One plate per Dutch sidecode, in normal form.
SIDECODES = {
    1: "AB-12-34",
    2: "12-34-AB",
    3: "12-AB-34",
    4: "BD-12-FG",
    5: "BD-FG-12",
    6: "12-BD-FG",
    7: "12-BDF-3",
    8: "1-BDF-23",
    9: "BD-123-F",
    10: "B-123-DF",
    11: "BDF-12-G",
    12: "B-12-DFG",
    13: "1-BD-234",
    14: "123-BD-4",
}


@pytest.mark.parametrize("sidecode", sorted(SIDECODES))
def test_every_dutch_sidecode_in_every_typed_form(sidecode: int) -> None:
    plate = SIDECODES[sidecode]
    groups = plate.split("-")
    for typed in (plate, plate.lower(), " ".join(groups), " ".join(groups).lower()):
        assert extract_plates(f"kenteken {typed} gezien") == (plate,), typed
    compact = "".join(groups)
    if sidecode != 2:  # compact sidecode 2 is what a postcode looks like
        assert extract_plates(f"kenteken {compact.lower()}") == (plate,)


@pytest.mark.parametrize("sidecode", [s for s in SIDECODES if s >= 4])
def test_modern_sidecodes_need_no_plate_word(sidecode: int) -> None:
    plate = SIDECODES[sidecode]
    assert extract_plates(f"witte bus {plate.lower()} reed weg") == (plate,)
    assert extract_plates(f"witte bus {plate.replace('-', ' ')} reed weg") == (plate,)


def test_examples_from_the_design() -> None:
    assert extract_plates("Kenteken pz 77 kd, witte Transit") == ("PZ-77-KD",)
    assert extract_plates("auto gf 214 n en vnl38p") == ("GF-214-N", "VNL-38-P")
    assert extract_plates("blauwe Kia, SX-914-B") == ("SX-914-B",)


def test_belgian_plates() -> None:
    assert extract_plates("nummerplaat 1-abc-234") == ("1-ABC-234",)
    assert extract_plates("wagen 2-FGH-456 rijdt rond") == ("2-FGH-456",)
    assert extract_plates("oude plaat ABC-123") == ("ABC-123",)
    assert extract_plates("oude plaat 123-abc") == ("123-ABC",)
    assert extract_plates("nummerplaat 1 abc 234") == ("1-ABC-234",)


def test_belgian_new_format_starts_with_one_or_two() -> None:
    assert extract_plates("nummerplaat 7-abc-234") == ()


def test_vowels_reject_modern_sidecodes() -> None:
    assert extract_plates("kenteken AE-12-BO") == ()
    assert extract_plates("kenteken 1-ABC-23") == ()
    assert extract_plates("nr 12 ab") == ()


def test_plate_like_old_sidecodes_need_dashes_or_context() -> None:
    assert extract_plates("ab 12 34") == ()
    assert extract_plates("om 12 30 bij de school") == ()
    assert extract_plates("ab-12-34") == ("AB-12-34",)


@pytest.mark.parametrize(
    "text",
    [
        "bel 0612345678",
        "bel 06-12345678 of 020-1234567",
        "+31 6 1234 5678",
        "postcode 1234 AB",
        "postcode 1234AB en kenteken onbekend",
        "om 14:30 of 14.30 uur",
        "op 12-03-2024 en 12-03-24",
        "op 4-mrt-24",
        "nummer 12 en Dorpsstraat 12a",
        "80 euro per stuk",
        "100 kmh in de wijk",
        "gtx970 te koop",
        "geen kenteken gezien, ongeveer 30 jaar, 1.80 lang",
    ],
)
def test_everyday_numbers_are_not_plates(text: str) -> None:
    assert extract_plates(text) == ()


def test_duplicates_reported_once_in_order() -> None:
    assert extract_plates("HN-305-K, later weer hn305k, dan 61-ZX-NB") == ("HN-305-K", "61-ZX-NB")


def test_normal_form_helper() -> None:
    assert normalize_plate("vnl 38 p") == "VNL-38-P"
    assert normalize_plate("hallo") is None
    assert all(PLATE_NORMAL_FORM.match(p) for p in SIDECODES.values())


def test_full_width_plates_are_folded_before_the_digit_check() -> None:
    assert extract_plates("kenteken ＶＮＬ３８Ｐ") == ("VNL-38-P",)


def test_plates_after_long_text_and_between_other_numbers() -> None:
    lead = "op de hoek bij nr 12 om 16:00 " * 20
    assert extract_plates(lead + "witte bus gf 214 n en 2,50 euro") == ("GF-214-N",)
    assert extract_plates("kenteken vnl - 38 - p") == ("VNL-38-P",)
