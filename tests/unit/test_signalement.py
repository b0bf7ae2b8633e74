"""Signalement guidance: fires on skin colour or origin alone, never on ordinary reports."""

from __future__ import annotations

import pytest

from bot.domain.signalement import (
    SignalementVocabulary,
    assess,
    needs_signalement_guidance,
    normalise,
)

NEEDS_GUIDANCE = [
    "Donkere man loopt al een tijdje rond bij de garageboxen",
    "Buitenlands uitziende man bij de school, let even op",
    "Allochtoon rondhangen bij het winkelcentrum??",
    "Marokkaans uitziende jongens bij het speeltuintje",
    "Zwarte man staat al 10 minuten bij de bushalte, vertrouw het niet",
    "Getinte jongen loopt door de straat, verdacht",
    "Oost-Europees type bij de voordeur van nr 12",
    "Black guy hanging around near the school",
    "Foreign looking men in the street, be careful",
    "Twee donkere jongens in de Lindelaan",
    "Zojuist een donkere jonge man gezien op het plein, heel verdacht",
    "Er lopen allochtonen rond in de wijk",
    "Man van Marokkaanse afkomst staat bij de ingang",
    "Ze zagen er buitenlands uit, hou je ogen open",
    "Groepje Oost-Europeanen bij de container",
    "Man met een donkere huidskleur loopt langs de huizen",
    "Verdachte personen, getinte mannen, bij de Jumbo",
    "Let op: Turkse jongens hangen rond bij het station",
    "Donker type bij de achterdeur van de buren",
    "Blanke vrouw loopt rond bij de garages",
    "DONKERE MAN BIJ DE KERK!!!",
    "Dónkere man bij de kerk",  # accent typed by autocorrect
    "Donk\u200bere man bij de kerk",  # zero-width space from copy-paste
]

ORDINARY_REPORTS = [
    "Man in zwarte jas probeert deurklinken in de Dorpsstraat",
    "Donker geklede man loopt door de achtertuinen",
    "Zwarte BMW rijdt al 3 keer stapvoets door de straat",
    "Man in het zwart bij de garageboxen",
    "Donkerblauwe auto met Pools kenteken staat al uren stil",
    "Donkere man, 1.80, blauwe jas, rende richting station",
    "Het was donker, man bij de schuur met een zaklamp",
    "Er werd ingebroken op nummer 14, politie is gebeld (112)",
    "Zwarte kat vermist, wie heeft hem gezien?",
    "Witte bestelbus zonder kenteken bij de school",
    "Man met donkere capuchon keek in auto's op de parkeerplaats",
    "Twee jongens op een scooter, zwarte helmen, reden richting centrum",
    "Verdachte situatie: iemand rammelt aan fietsen bij het station",
    "Vrouw in donkere kleding belde bij meerdere huizen aan",
    "Getinte ramen, grijze Golf, staat bij de speeltuin",
    "Donkere figuur in de tuin gezien, 112 gebeld",
    "Jongen in zwart trainingspak fietste weg richting park",
    "Man ca 40 jaar, kaal, zwarte jas, liep weg richting de Kerkstraat",
    "Black car with tinted windows circling the block",
    "Guy in black hoodie trying car doors on Elm Street",
    "Poolse bouwvakkers zijn vandaag begonnen aan nummer 8",
    "Marokkaanse man met baard en rode jas probeerde de deur van de schuur te openen",
    "Getinte jongen op zwarte scooter reed richting de N11",
    "Ik zag een donkere auto met twee inzittenden rondrijden",
    "Donkere wolken, het gaat onweren, haal je tuinmeubels binnen",
    "Inbraak bij de bakker, ruit ingegooid, dader gevlucht",
    "Buitenlands kenteken, witte Mercedes Sprinter, rijdt langzaam rond",
    "Man in donkergrijze jas en spijkerbroek bij de voordeur",
    "Zwarte man, lang, grijze hoodie, liep weg richting het park",
    "Het wordt vroeg donker mensen, doe je buitenlamp aan",
    "Witte man van ongeveer 50 bij de deur, belde aan bij nummer 3",
    "Man 1m85 in het zwart bij de achterdeur",
    "Kenteken was Pools mensen! 1-ABC-234",
    "",
]


@pytest.mark.parametrize("text", NEEDS_GUIDANCE)
def test_description_by_skin_colour_or_origin_alone_gets_guidance(text: str) -> None:
    assert needs_signalement_guidance(text), assess(text)


@pytest.mark.parametrize("text", ORDINARY_REPORTS)
def test_ordinary_reports_and_clothing_colours_get_no_guidance(text: str) -> None:
    assert not needs_signalement_guidance(text), assess(text)


def test_the_triggering_words_are_reported_for_debug_logging() -> None:
    assessment = assess("Marokkaans uitziende jongens bij het speeltuintje")
    assert assessment.profiling_term == "marokkaans uitziende"
    assert not assessment.has_description


def test_a_description_with_behaviour_clothing_and_direction_is_enough() -> None:
    assessment = assess("donkere man, 1.80, blauwe jas, rende richting station")
    assert assessment.profiling_term is not None
    assert assessment.has_description
    assert not assessment.needs_guidance


def test_normalisation_strips_accents_invisibles_and_hyphens() -> None:
    assert normalise("Oost-Europése\u200d TYPE!") == "oost europese type !"
    assert normalise("\u202eman\u202c") == "man"


def test_vocabulary_is_editable_data() -> None:
    vocabulary = SignalementVocabulary.from_mapping(
        {
            "profiling": {
                "person_nouns": ["persoon"],
                "skin_adjectives": ["paarse"],
                "skin_adjectives_bare": [],
                "neuter_nouns": [],
                "skin_heads": [],
                "origin_adjectives": [],
                "origin_adjectives_bare": [],
                "origin_heads": [],
                "looking_words": [],
                "fillers": [],
                "standalone": [],
            },
            "description": {
                k: ["*jas"] for k in ("clothing", "build", "vehicle", "direction", "behaviour")
            },
        }
    )
    assert needs_signalement_guidance("paarse persoon bij de kerk", vocabulary)
    assert not needs_signalement_guidance("paarse persoon met regenjas", vocabulary)
    assert not needs_signalement_guidance("donkere man", vocabulary)


def test_an_incomplete_vocabulary_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="signalement vocabulary"):
        SignalementVocabulary.from_mapping({"profiling": {}})
