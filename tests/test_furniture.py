"""The page-furniture classifier and the text patterns it shares with ingestion."""

from __future__ import annotations

import pytest

from rag.ingest import (
    Block,
    Weights,
    classify,
    find_date,
    is_label,
    main_region,
    pull_quotes,
)
from rag.text import detect_language

ARTICLE = [
    "Fishing crews in the northern Baltic have landed more herring this winter than in any season of the past "
    "decade, a recovery that scientists attribute to four years of strict quotas and a run of cold winters.",
    "The herring stock collapsed in the early 2010s after a decade of heavy trawling for fishmeal. Quotas were "
    "cut by half in 2017, and the smaller boats that fish the coastal spawning grounds felt the change first.",
    "Marine biologists at the regional institute say the spawning biomass of herring has doubled since the "
    "quotas were cut, but warmer winters reduce the ice cover that protects the eggs of the Baltic stock.",
    "Fishermen in the harbour towns welcome the larger herring catches but complain that prices have fallen, "
    "since processing plants still prefer cheap imported fish to the herring landed by Baltic crews.",
]


def page(*texts: str) -> list[Block]:
    return [Block(text=t) for t in texts]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("vendredi 11 novembre 2016, par Cyrille BRET", "2016-11-11"),
        ("Publié le 23 juillet 2017", "2017-07-23"),
        ("le 1er juillet 2017 à 10h30", "2017-07-01T10:30"),
        ("- 24/07/2017 - 00:09", "2017-07-24T00:09"),
        ("Published March 3, 2021", "2021-03-03"),
        ("3 March 2021", "2021-03-03"),
        ("2023-05-14T08:30:00+02:00", "2023-05-14T08:30"),
    ],
)
def test_find_date_reads_french_english_and_numeric_dates(text, iso):
    assert find_date(text).iso == iso


@pytest.mark.parametrize("text", ["31/02/2017", "lundi 8 juin", "Best of du 23 au 29 mai", "Novembre 2016"])
def test_find_date_rejects_impossible_or_incomplete_dates(text):
    assert find_date(text) is None


@pytest.mark.parametrize(
    "text", ["01.", "7", "il y a 5 heures 10 min", "3 hours ago", "pépites > Europe", "Home › World › Climate"]
)
def test_labels_are_recognised(text):
    assert is_label(text)


@pytest.mark.parametrize("text", ["Le président a parlé.", "Renault : l’Etat actionnaire solde les comptes", "2 > 1"])
def test_prose_and_headlines_are_not_labels(text):
    assert not is_label(text)


def test_language_detection():
    assert detect_language(" ".join(ARTICLE)) == "en"
    assert detect_language("Le président a déclaré que la Russie et les Etats-Unis ne sont pas alliés.") == "fr"


def test_main_region_is_the_article_not_the_teaser_list():
    teasers = []
    for n, headline in enumerate(
        [
            "Stock markets rally as central banks hold interest rates for another quarter",
            "Ten recipes for summer barbecues that your guests will love this year",
            "Football: the final score and the highlights of the cup match on Sunday",
        ],
        start=1,
    ):
        teasers += [f"0{n}.", headline]
    blocks = page("Menu", "Home", "World", *teasers, "Climate", *ARTICLE, "Most read", *teasers)
    region = main_region(blocks)
    assert [blocks[i].text for i in region] == ARTICLE


def test_classifier_drops_furniture_of_a_page_it_has_never_seen():
    furniture = [
        "Skip to content",
        "Menu",
        "Home",
        "World",
        "We use cookies to improve your experience. By continuing to browse you accept our use of cookies.",
        "Accept all",
        "Share on Facebook",
        "Share on Twitter",
        "Sign up for our weekly newsletter",
        "Get the best of our coverage in your inbox every Friday. Enter your email address to subscribe.",
        "Related articles",
        "1.",
        "Ten recipes for summer barbecues that your guests will love",
        "2.",
        "Celebrity chef opens a new restaurant in the old railway station",
        "il y a 3 heures",
        "Privacy policy",
        "© 2021 The Northern Courier. All rights reserved.",
    ]
    blocks = page(*furniture[:8], *ARTICLE, *furniture[8:])
    verdicts = classify(blocks)
    kept = [b.text for b, v in zip(blocks, verdicts) if not v.furniture]
    assert kept == ARTICLE
    cookie = verdicts[4]
    assert "call to action" in cookie.reasons and cookie.score >= Weights().threshold


def test_an_appeal_for_money_next_to_the_article_is_furniture():
    appeal = [
        "Our newsroom is independent and free to read. You can support it with a donation: send a cheque to "
        "The Courier, 12 Harbour Street, 10115 Northport, or write to donations@courier.example.",
        "With 5 000 € a month we can pay our reporters and keep the site free for everyone who reads it.",
    ]
    blocks = page("The quiet revival of the Baltic herring fishery", *appeal, *ARTICLE)
    verdicts = classify(blocks, title="The quiet revival of the Baltic herring fishery")
    assert [v.furniture for v in verdicts[1:3]] == [True, True]
    assert not any(v.furniture for v in verdicts[3:])
    assert "appeal cues" in verdicts[1].reasons


def test_on_topic_paragraph_after_an_inserted_box_is_kept():
    box = ["Related articles", "Ten recipes for summer barbecues", "Celebrity chef opens a new restaurant"]
    last = (
        "Regulators will review the herring quotas again next year, and scientists want the current limits kept "
        "until the Baltic stock has survived at least one mild winter without losing ground."
    )
    blocks = page(*ARTICLE, *box, last)
    verdicts = classify(blocks)
    assert not verdicts[-1].furniture
    assert all(v.furniture for v in verdicts[len(ARTICLE) : len(ARTICLE) + 3])


def test_weights_are_a_parameter():
    blocks = page("Menu", *ARTICLE, "© 2021 The Courier")
    assert classify(blocks)[0].furniture
    assert not any(v.furniture for v in classify(blocks, weights=Weights(threshold=100.0)))


def test_pull_quotes_repeat_a_body_sentence_and_are_kept_once():
    texts = [
        "Dans la politique américaine, les éléments de langage isolationnistes sont répétés mais rarement "
        "suivis d'effets...",
        "En outre, dans la politique américaine, les éléments de langage isolationnistes sont répétés mais "
        "rarement suivis d'effets. Thème traditionnel des candidats Républicains depuis plus d'un siècle.",
        "Un paragraphe qui ne se répète nulle part ailleurs dans la page.",
        "Un paragraphe qui ne se répète nulle part ailleurs dans la page.",
        "Non, pas du tout.",
    ]
    # The ellipsis, case and punctuation differ; the exact copy keeps its first occurrence; a short
    # sentence ("Non, pas du tout.") is never a pull quote even if its words occur elsewhere.
    assert pull_quotes(texts + ["Non, pas du tout, dit-il, et il partit sans un mot de plus."]) == {0, 3}
