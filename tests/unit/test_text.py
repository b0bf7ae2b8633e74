"""Text folding: what residents type must reach the vocabulary in one predictable form."""

from bot.domain.text import clean, matching_form, normalize, squash


def test_lower_case_and_accents_are_folded() -> None:
    assert normalize("Actie BEËINDIGD, café") == "actie beeindigd, cafe"


def test_invisible_characters_do_not_split_words() -> None:
    for hidden in ("\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2067"):
        assert normalize(f"in{hidden}braak") == "inbraak"


def test_fullwidth_and_compatibility_letters_fold_to_ascii() -> None:
    assert normalize("ＩＮＢＲＡＡＫ") == "inbraak"
    assert normalize("ﬁets") == "fiets"


def test_shouting_collapses_to_two_but_keeps_dutch_doubles() -> None:
    assert normalize("INBRAAAAAK!!!") == "inbraak!!!"
    assert normalize("gestolen fietsen") == "gestolen fietsen"
    assert normalize("bellen") == "bellen"


def test_squash_makes_spelling_variants_equal() -> None:
    assert squash("inbraak") == squash("inbrak") == "inbrak"
    assert matching_form("VERDACHTTE") == matching_form("verdachte")
    assert matching_form("Inbraaaak") == matching_form("inbraak")


def test_clean_keeps_letter_runs_for_plates() -> None:
    assert clean("GG-12-BB") == "gg-12-bb"


def test_normalize_is_idempotent_on_tricky_input() -> None:
    for text in ("İstanbul", "ℌallo", "a\u0301\u0301b", "ǅ", "ﬀ", "Ⅻ", "\u202eKAAT"):
        once = normalize(text)
        assert normalize(once) == once
