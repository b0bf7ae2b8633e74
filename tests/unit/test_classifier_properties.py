"""Whatever arrives in a room, classification must answer in contract form, in linear time."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.classifier import CATEGORIES_OR_NONE, Classification, classify
from bot.domain.plates import PLATE_NORMAL_FORM, extract_plates
from bot.domain.text import normalize
from tests.unit.linear_time import KIB64, assert_linear

_WORDS = st.sampled_from(
    [
        "inbraak",
        "nu",
        "kenteken",
        "gf",
        "214",
        "n",
        "12",
        "ab",
        "-",
        " ",
        "112",
        "gebeld",
        "vermist",
        "kat",
        "👍",
        "\u200b",
        "ＩＮ",
        "brand",
        "06-12345678",
        "1-abc-234",
        "vnl38p",
    ]
)


@given(st.text())
def test_any_text_gives_a_valid_classification(text: str) -> None:
    result = classify(text)
    assert result.category in CATEGORIES_OR_NONE
    assert isinstance(result.urgent, bool) and isinstance(result.off_topic, bool)
    assert not (result.off_topic and result.category is not None)
    assert not (result.urgent and result.category is None)
    assert all(PLATE_NORMAL_FORM.match(p) for p in result.plates)


@given(st.lists(_WORDS, max_size=40).map(" ".join))
def test_word_soup_plates_are_always_normal_form(text: str) -> None:
    assert all(PLATE_NORMAL_FORM.match(p) for p in extract_plates(text))
    assert all(PLATE_NORMAL_FORM.match(p) for p in classify(text).plates)


@settings(max_examples=20, deadline=None)
@given(st.text(min_size=1, max_size=64))
def test_64_kib_bodies_take_linear_time(chunk: str) -> None:
    def classify_with(size: int) -> Classification:
        return classify((chunk * (size // len(chunk) + 1))[:size])

    assert classify_with(KIB64).category in CATEGORIES_OR_NONE
    assert_linear(classify_with, what=f"classify({chunk!r} * 64 KiB)")


@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
