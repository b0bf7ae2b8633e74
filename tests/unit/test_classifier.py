"""What residents and moderators notice: the right category, urgency and off-topic verdict."""

from pathlib import Path

import pytest

from bot.domain.classifier import Classifier, _anchors, classify, to_contract
from bot.domain.vocabulary import VocabularyError, load_vocabulary


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Vannacht is er ingebroken bij nummer 14, laptop weg", "burglary"),
        ("Inbraakpoging bij de buren, braaksporen aan de achterdeur", "burglary"),
        ("Inbrekers zijn via het balkon binnengekomen", "burglary"),
        # a getaway van and its plate do not make a break-in at an address vehicle crime
        (
            "Ze breken nu in op nummer 7, grijze bestelbus met kenteken 12-vbn-3 staat klaar",
            "burglary",
        ),
        ("Man loert in auto's op de parkeerplaats, vertrouw het niet", "suspicious"),
        ("Twee mannen lopen al een uur rond en kijken bij ramen naar binnen", "suspicious"),
        ("Oplichters aan de deur die zeggen dat ze van de energiemaatschappij komen", "fraud"),
        ("Let op: nep sms van de bank, niet op de link klikken", "fraud"),
        ("Bushokje vernield en muur beklad met graffiti", "vandalism"),
        ("Bij alle auto's zijn de banden lek gestoken", "vandalism"),
        # breaking glass at an address without getting in is damage, not a break-in
        ("Twee jongens breken de ruiten bij de buren op nummer 9", "vandalism"),
        ("Pakketje van de stoep gestolen", "theft"),
        ("Fietsendiefstal bij het station, slot doorgeknipt", "theft"),
        ("Auto van de buren gestolen vannacht", "vehicle_crime"),
        ("Er is ingebroken in mijn auto, navigatie weg", "vehicle_crime"),
        ("Katalysator onder de auto weggezaagd", "vehicle_crime"),
        ("Oudere dame beroofd van haar tas bij de pinautomaat", "robbery"),
        ("Overval op de supermarkt", "robbery"),
        ("Vechtpartij bij de snackbar, iemand neergestoken", "violence"),
        ("Jongen mishandeld op het schoolplein", "violence"),
        ("Containerbrand achter de school", "fire"),
        ("Het rookt uit het dak, het staat in brand", "fire"),
        ("Al weken wordt er gedeald bij het park", "drugs"),
        ("Lachgascilinders en wietlucht bij de speeltuin", "drugs"),
        ("Vermist: jongen van 8, blauwe jas", "missing_person"),
        ("Onze buurman met dementie is niet thuisgekomen", "missing_person"),
    ],
)
def test_dutch_categories(text: str, category: str) -> None:
    result = classify(text)
    assert result.category == category
    assert not result.off_topic


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Someone broke into the shed last night", "burglary"),
        ("Suspicious guy checking door handles on our street", "suspicious"),
        ("Watch out for a phishing scam pretending to be the tax office", "fraud"),
        ("Graffiti sprayed on the community centre, vandals again", "vandalism"),
        ("My bike was stolen from the front garden", "theft"),
        ("Car broken into, window smashed", "vehicle_crime"),
        ("Neighbour was mugged near the station", "robbery"),
        ("Big fight outside the pub", "violence"),
        ("The house on the corner is on fire", "fire"),
        ("People dealing drugs from a car by the park", "drugs"),
        ("Missing: elderly man with dementia, grey coat", "missing_person"),
    ],
)
def test_english_categories(text: str, category: str) -> None:
    assert classify(text).category == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Deze nacht is er ingebroken in de garage, velo gepikt", "burglary"),
        ("Louche gasten schuimen de straat af met een camionette", "suspicious"),
        ("Politie verwittigd: wagen opengebroken in de Kerkstraat", "vehicle_crime"),
    ],
)
def test_flemish_wording(text: str, category: str) -> None:
    assert classify(text).category == category


@pytest.mark.parametrize(
    "text",
    [
        "Er klimt nu iemand over de schutting, 112 gebeld",
        "Zojuist ingebroken bij de buren, daders rennen weg richting park",
        "Op dit moment vechtpartij op het plein",
        "Brand in de flat aan de Dorpsstraat!",
        "Vermist: meisje van 6, roze jas",
        "Someone is breaking into a car right now",
    ],
)
def test_live_incidents_are_urgent(text: str) -> None:
    assert classify(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "Vannacht ingebroken in de schuur",
        "Gisteren is mijn fiets gestolen",
        "Al weken wordt er gedeald bij het park",
        "Verdachte bus rijdt al de hele ochtend rond",
        "Brand is geblust, iedereen is veilig",
        "Vermiste man is teruggevonden",
        "Someone tried to open our back door last night",
        "Politie is gebeld en onderweg",
        "Goedemorgen allemaal, nu even koffie",
    ],
)
def test_reports_after_the_fact_and_non_incidents_are_not_urgent(text: str) -> None:
    assert not classify(text).urgent


def test_missing_person_stays_urgent_even_since_yesterday() -> None:
    assert classify("Sinds gisteren vermist: jongen van 15").urgent


@pytest.mark.parametrize(
    "text",
    [
        "112 gebeld",
        "Politie is gebeld en onderweg",
        "Heb de politie gewaarschuwd",
        "101 gebeld, politie komt eraan",
        "Aangifte gedaan bij de politie",
        "Police have been called",
    ],
)
def test_police_called_is_recognised(text: str) -> None:
    assert classify(text).police_called


def test_police_advice_is_not_a_call() -> None:
    assert not classify("Zie je iets verdachts? Bel altijd 112").police_called


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Bedankt!", "thanks_ok_emoji"),
        ("Top 👍", "thanks_ok_emoji"),
        ("👍👍", "thanks_ok_emoji"),
        ("🙏", "thanks_ok_emoji"),
        ("Goedemorgen allemaal", "greeting"),
        ("Fijne feestdagen iedereen", "greeting"),
        ("Gelukkig nieuwjaar!", "greeting"),
        ("Te koop: kinderfiets, 25 euro", "sales"),
        ("Gratis af te halen: tuinstoelen", "sales"),
        ("Onze kat is weggelopen, grijs met witte pootjes", "lost_pet"),
        ("Vermiste kat Minoes, wie heeft haar gezien?", "lost_pet"),
        ("Hond gevonden bij de vijver, luistert naar Max", "lost_pet"),
        ("Weet iemand hoe laat de bibliotheek open is?", "service_question"),
        ("Kan iemand een goede loodgieter aanraden?", "service_question"),
        ("Wie doet er mee met de buurtbarbecue?", "social_event"),
        ("Burenruzie over de heg, wat moet ik doen", "dispute"),
        ("Weer hondenpoep op de stoep", "dispute"),
        ("Geluidsoverlast van de buren elke nacht", "dispute"),
        ("Haha, wat een mooi weer vandaag", "chit_chat"),
    ],
)
def test_off_topic_kinds(text: str, kind: str) -> None:
    result = classify(text)
    assert result.off_topic
    assert result.off_topic_kind == kind
    assert result.category is None
    assert not result.urgent


@pytest.mark.parametrize(
    "text",
    [
        "Politie is gebeld en onderweg",
        "Update: persoon is in een rode auto gestapt, kenteken 3-KDB-21",
        "Vals alarm, het was de glazenwasser",
        "Aanvulling: dader droeg een zwarte capuchon",
    ],
)
def test_follow_ups_are_on_topic_without_category(text: str) -> None:
    result = classify(text)
    assert result.category is None
    assert not result.off_topic


def test_incident_is_never_off_topic_even_with_greeting() -> None:
    result = classify("Goedemorgen, vannacht is bij ons ingebroken")
    assert result.category == "burglary"
    assert not result.off_topic


def test_plates_are_reported_with_the_incident() -> None:
    result = classify("Verdachte auto met kenteken hn 305 k bij de school")
    assert result.category == "suspicious"
    assert result.plates == ("HN-305-K",)


@pytest.mark.parametrize(
    "text",
    [
        "In\u200bbraak bij de buren",
        "In\u00adbraak bij de buren",
        "\u202eInbraak bij de buren",
        "ＩＮＢＲＡＡＫ bij de buren",
        "INBRAAAAAK bij de buren!!!",
        "inbaak bij de buren",
        "ingebroke bij de buren",
        "🚨🚨 Inbraak bij de buren 🚨",
    ],
)
def test_unicode_tricks_and_typos_still_detect_burglary(text: str) -> None:
    assert classify(text).category == "burglary"


def test_typo_in_suspicious() -> None:
    assert classify("Verdachtte man bij de garages").category == "suspicious"


def test_fire_words_that_are_not_fires() -> None:
    assert classify("Brandweer oefent vandaag bij de kazerne").category is None
    assert classify("Het eten is aangebrand, haha").category is None


def test_pet_versus_person() -> None:
    assert classify("Vermist: onze hond Bobby").off_topic_kind == "lost_pet"
    assert classify("Vermist: mevrouw van 80 met haar hond").category == "missing_person"


def test_contract_shape() -> None:
    out = to_contract("m1", classify("Auto gestolen, kenteken SX-914-B"))
    assert out == {
        "id": "m1",
        "category": "vehicle_crime",
        "urgent": False,
        "off_topic": False,
        "plates": ["SX-914-B"],
        "police_called": False,
    }


def test_local_vocabulary_file_extends_without_release(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "vocabulary"
    for f in shipped.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    assert classify("Er worden weer snorfietsen gesnaaid").category is None
    (tmp_path / "local.toml").write_text('[category.theft]\n"gesnaaid" = 3\n', encoding="utf-8")
    local = Classifier(load_vocabulary(tmp_path))
    assert local.classify("Er worden weer snorfietsen gesnaaid").category == "theft"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[category.burglary\n", "cannot read"),
        ('[category.kidnapping]\n"x" = 1\n', "unknown category"),
        ('[category.theft]\n"x" = "veel"\n', "weight"),
        ("[category.theft]\n're:(' = 2\n", "invalid pattern"),
        ("[category.theft]\n're:(gestolen)' = 2\n", "capturing group"),
        ('[category.theft]\n"in*br" = 2\n', "'*' only"),
        ('[whatever]\n"x" = 1\n', "unknown section"),
        ("[settings]\nthreshold = -1\n", "threshold"),
    ],
)
def test_malformed_vocabulary_names_file_and_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    (tmp_path / "bad.toml").write_text(content, encoding="utf-8")
    with pytest.raises(VocabularyError) as info:
        load_vocabulary(tmp_path)
    assert "bad.toml" in str(info.value)
    assert problem in str(info.value)


def test_empty_vocabulary_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="no vocabulary files"):
        load_vocabulary(tmp_path)


def test_verdicts_do_not_depend_on_earlier_messages() -> None:
    """Identified hits are memoised per classifier; order must not matter."""
    texts = [
        "diefstal van een fiets",
        "de dief is weg",
        "dieven gezien bij de school",
        "Vannacht ingebroken, 112 gebeld",
        "NU iemand bij de auto, kenteken gf 214 n",
        "auto-inbraak aan de Dorpsweg",
        "autoinbraak vannacht",
        "Bedankt allemaal 👍",
    ]
    forward = [Classifier(load_vocabulary()).classify(t) for t in texts]
    shared = Classifier(load_vocabulary())
    warm = [shared.classify(t) for t in texts + texts[::-1]]
    assert warm[: len(texts)] == forward
    assert warm[len(texts) :] == forward[::-1]


def test_ascii_and_unicode_text_match_the_same_terms() -> None:
    """ASCII text is scanned with re.ASCII; a non-ASCII character elsewhere must not
    change what is found, including the "-" of "auto-inbraak" across odd whitespace."""
    for text in ("auto-inbraak vannacht", "auto\x1cinbraak vannacht", "auto inbraak"):
        assert classify(text + " é") == classify(text), text
        assert classify(text).category == "vehicle_crime", text


def test_inner_terms_are_found_inside_words_only_when_anchored() -> None:
    """The inside-word scan is skipped unless the text holds an anchor; every inner term
    contains one, so skipping never loses a hit."""
    entries = [e for e in load_vocabulary().entries if not e.word_start and e.pattern is None]
    anchors = _anchors(entries)
    assert anchors is not None and "dief" in anchors and "diefstal" not in anchors
    assert all(any(a in "".join(e.atoms) for a in anchors) for e in entries)
    assert classify("Fietsdiefstal bij het station").category == "theft"
    assert classify("Woninginbraak aan de Dorpsweg").category == "burglary"
    assert classify("Top, dank je 👍👍").off_topic_kind == "thanks_ok_emoji"


def test_inner_term_without_literal_start_always_scans(tmp_path: Path) -> None:
    (tmp_path / "v.toml").write_text('[category.theft]\n"*.diefstal" = 3\n', encoding="utf-8")
    vocabulary = load_vocabulary(tmp_path)
    assert _anchors(list(vocabulary.entries)) is None
    assert Classifier(vocabulary).classify("fiets.diefstal gemeld").category == "theft"
