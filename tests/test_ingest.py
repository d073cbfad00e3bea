"""Ingestion: the two seed articles, articles of other sites and formats, and bad files."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from rag.ingest import (
    IngestError,
    citable_passages,
    ingest_file,
    ingest_paths,
    markdown_to_text,
    normalize_name,
)

from conftest import GLACIERS_ARTICLE, ingest_text, texts

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DIPLOWEB = SEEDS / "000_d870e11f8aecef73.txt"
ATLANTICO = SEEDS / "002_42ac76fe60a39ace.txt"


@pytest.fixture(scope="module")
def diploweb():
    return ingest_file(DIPLOWEB)


@pytest.fixture(scope="module")
def atlantico():
    return ingest_file(ATLANTICO)


def containing(doc, fragment: str) -> list:
    return [p for p in doc.paragraphs if fragment in p.text]


# --------------------------------------------------------------------------- Diploweb seed (markdown dump)


def test_diploweb_metadata(diploweb):
    assert diploweb.id == "000_d870e11f8aecef73"
    assert diploweb.title == "Trump et Poutine : les affinités ne font pas une alliance russo-américaine"
    assert diploweb.authors == ("Cyrille Bret",)
    assert diploweb.date == "2016-11-11"
    assert diploweb.site == "Diploweb.com"
    assert diploweb.language == "fr"


def test_diploweb_sections_are_the_four_headings(diploweb):
    assert [s.title for s in diploweb.sections] == [
        "I. L'isolationnisme : un bon thème de campagne mais une politique impossible",
        "II. Le fantasme d'un « nouveau départ » (reset) avec la Russie",
        "III. Ni la fin de la « nouvelle Guerre Froide », ni le désengagement de l'OTAN ni la levée des sanctions "
        "américaines contre la Russie ne sont à l'ordre du jour",
        "IV. Les limites d'une alliance russo-américaine contre le terrorisme en Syrie et au Moyen-Orient",
    ]
    [p] = containing(diploweb, "Depuis le début de la campagne électorale")
    assert p.section == "I. L'isolationnisme : un bon thème de campagne mais une politique impossible"
    assert diploweb.paragraphs[0].section is None  # the introduction precedes section I


def test_diploweb_body_is_clean_prose(diploweb):
    body = texts(diploweb)
    assert len(body) == 28
    assert [p.id for p in diploweb.paragraphs] == [f"000_d870e11f8aecef73:p{n}" for n in range(1, 29)]
    assert all(p.n == n and p.kind == "text" for n, p in enumerate(diploweb.paragraphs, start=1))
    for text in body:
        assert "**" not in text and "](" not in text and "\\" not in text
    joined = " ".join(body)
    for furniture in ("Citer cet article", "DIPLOWEB.COM", "5 000€", "8 000€", "Vincennes", "Manuscrit clos",
                      "Copyright", "tipeee", "Enseigne à Sciences-Po"):  # fmt: skip
        assert furniture not in joined
    assert body[0].startswith("LA VICTOIRE de Donald Trump au scrutin présidentiel")  # markdown link reduced
    assert "*leader* russe" not in joined and "le leader russe" in joined


def test_diploweb_page_breaks_are_rejoined(diploweb):
    [p] = containing(diploweb, "du « président élu » qui ne deviendra président en fonction qu'en janvier 2017.")
    assert p.section.startswith("I.")
    assert containing(diploweb, "ils y défendent leurs intérêts directs")
    assert containing(diploweb, "incompatibles avec ceux des Etats-Unis")
    assert not any(t[:1].islower() for t in texts(diploweb))


def test_diploweb_pull_quotes_are_kept_once(diploweb):
    assert len(containing(diploweb, "éléments de langage isolationnistes sont répétés mais rarement")) == 1
    assert len(containing(diploweb, "L'engagement des Etats-Unis dans une politique active d'extension")) == 1
    [p] = containing(diploweb, "L'engagement des Etats-Unis dans une politique active d'extension")
    assert "L'OTAN s'est étendue vers l'est par étapes inexorables" in p.text


def test_diploweb_lead_and_biography(diploweb):
    assert diploweb.lead.startswith("Un rapprochement Trump-Poutine n'est pas à exclure")
    assert diploweb.lead.endswith("se heurte à la renaissance internationale de la Russie.")
    assert diploweb.biography.startswith("Enseigne à Sciences-Po Paris")
    assert diploweb.lead not in texts(diploweb)


def test_diploweb_footnotes(diploweb):
    notes = diploweb.footnotes
    assert [f.number for f in notes] == list(range(1, 12))
    assert all(f.url and f.url.startswith("http") for f in notes)
    assert diploweb.footnote(2).url == "http://www.nytimes.com/2016/09/14/us/politics/donald-trump-vladimir-putin.html?_r=0"
    assert diploweb.footnote(10).url.startswith("http://www.huffingtonpost.fr/cyrille-bret/armement-pologne")
    assert not diploweb.footnote(10).text.endswith("=")
    eleven = diploweb.footnote(11)
    assert eleven.url.startswith("http://www.lepoint.fr/monde/trump-le-nouvel-ami-de-poutine")
    assert "challenges.fr" in eleven.text and "letemps.ch" in eleven.text  # unnumbered URL lines continue note 11


def test_diploweb_footnote_markers_stay_in_text_and_are_recorded(diploweb):
    first = diploweb.paragraphs[0]
    assert first.footnotes == (1, 2, 3, 4)
    assert "prédisent [1] ?" in first.text
    [p] = containing(diploweb, "meilleur ami de Poutine [11]")
    assert p.footnotes == (11,)
    recorded = {n for p in diploweb.paragraphs for n in p.footnotes}
    assert recorded == set(range(1, 12))


def test_diploweb_furniture_count(diploweb):
    # Citation header, citation line, four appeal blocks, two pull quotes, copyright.
    assert len(diploweb.dropped) == 9
    assert diploweb.comments == ()
    # the date the manuscript was closed is metadata, not furniture
    assert diploweb.datelines == ("Manuscrit clos le 10 novembre 2016",)


def test_diploweb_metadata_card(diploweb):
    meta = citable_passages(diploweb)[-1]
    assert meta.id == "000_d870e11f8aecef73:meta" and meta.kind == "meta"
    assert meta.text == (
        "« Trump et Poutine : les affinités ne font pas une alliance russo-américaine », "
        "article de Cyrille Bret publié le 11 novembre 2016 sur Diploweb.com. Manuscrit clos le 10 novembre 2016."
    )


# --------------------------------------------------------------------------- Atlantico seed (line dump)


def test_atlantico_metadata(atlantico):
    assert atlantico.title == (
        "Multiples rencontres en cachette : mais que gagne vraiment Vladimir Poutine à sa proximité avec Donald Trump ?"
    )
    assert atlantico.authors == ("Michael Eric Lambert",)
    assert atlantico.date == "2017-07-23"
    assert atlantico.site == "Atlantico"
    assert atlantico.lead == "L’existence d’une seconde conversation Trump-Poutine lors du G20 a été rendue publique cette semaine."
    assert atlantico.biography.startswith("Michael Eric Lambert est docteur en Histoire")


def test_atlantico_interview_turns(atlantico):
    paragraphs = atlantico.paragraphs
    assert len(paragraphs) == 17
    first, second = paragraphs[0], paragraphs[1]
    assert (first.kind, first.speaker) == ("question", "Atlantico")
    assert first.text.startswith("Les présidents américain Donald Trump et russe Vladimir Poutine")
    assert (second.kind, second.speaker) == ("answer", "Michael Eric Lambert")
    assert second.text.startswith("La fin de la Guerre froide")
    # Answers go on over several paragraphs; unprefixed questions are questions by the interviewer.
    assert [p.kind for p in paragraphs[2:6]] == ["answer"] * 4
    assert {p.speaker for p in paragraphs if p.kind == "answer"} == {"Michael Eric Lambert"}
    questions = [p for p in paragraphs if p.kind == "question"]
    assert [q.text[:20] for q in questions] == ["Les présidents améri", "Dans quel domaine, s", "A l'inverse, sur que"]
    assert all(q.speaker == "Atlantico" for q in questions)
    assert paragraphs[-1].text.startswith("Les sanctions économiques des États-Unis")


def test_atlantico_furniture_is_gone(atlantico):
    joined = " ".join(texts(atlantico))
    for furniture in ("Renault", "Raoult", "Covid", "il y a", "Abonnez-vous", "Suivre", "abonné", "Articles populaires",
                      "commentaires", "Nos articles sont ouverts", "© Reuters", "Relation discrète", "01.",
                      "Publié le", "L’existence d’une seconde conversation", "Michael Eric Lambert est docteur"):  # fmt: skip
        assert furniture not in joined
    assert len(atlantico.dropped) > 150


def test_atlantico_comment_is_a_comment_not_article(atlantico):
    [comment] = atlantico.comments
    assert comment.id == "002_42ac76fe60a39ace:c1"
    assert comment.author == "vangog"
    assert comment.date == "2017-07-24T00:09"
    assert comment.text.startswith("Diplomatie américaine surpuissante!")
    assert "pré-carré" in comment.text
    passages = citable_passages(atlantico)
    assert all("biberonnés" not in p.text for p in passages)
    assert "comment" not in {p.kind for p in passages}


def test_citable_passages_order_and_ids(atlantico):
    passages = citable_passages(atlantico)
    assert [p.id for p in passages[:2]] == ["002_42ac76fe60a39ace:lead", "002_42ac76fe60a39ace:p1"]
    assert [(p.id, p.kind) for p in passages[-2:]] == [
        ("002_42ac76fe60a39ace:bio", "bio"),
        ("002_42ac76fe60a39ace:meta", "meta"),
    ]
    assert passages[-1].text == (
        "« Multiples rencontres en cachette : mais que gagne vraiment Vladimir Poutine à sa proximité avec Donald "
        "Trump ? », entretien avec Michael Eric Lambert publié le 23 juillet 2017 sur Atlantico."
    )


# --------------------------------------------------------------------------- other sites, other furniture

NORTHERN_COURIER = """\
Skip to content
Menu
Home
World
Climate
Business
Search
We use cookies to improve your experience on our site. By continuing to browse you accept our use of cookies.
Accept all
Manage preferences
Climate
The quiet revival of the Baltic herring fishery
By JANE MORROW
March 3, 2021
Share on Facebook
Share on Twitter
Copy link
Fishing crews in the northern Baltic have landed more herring this winter than in any season of the past decade, a recovery that scientists attribute to four years of strict quotas and a run of cold winters.
The herring stock collapsed in the early 2010s after a decade of heavy trawling for fishmeal. Quotas were cut by half in 2017, and the smaller boats that fish the coastal spawning grounds were the first to feel the change.
Marine biologists at the regional institute say the spawning biomass has doubled since the quotas were cut. They caution that the recovery is fragile: warmer winters reduce the ice cover that protects herring eggs.
Fishermen in the small harbour towns welcome the larger catches but complain that prices have fallen. Processing plants, they say, still prefer cheap imported fish to the herring landed by local
crews, who sell what they can directly on the quays.
Sign up for our weekly climate newsletter
Get the best of our climate coverage in your inbox every Friday. Enter your email address to subscribe.
Related articles
Ten recipes for summer barbecues that your guests will love
How to choose the right running shoes for your first marathon
Celebrity chef opens a new restaurant in the old railway station
Regulators will review the quotas again next year. Scientists want the current limits kept until the stock has survived at least one mild winter without losing ground, and the fishing associations have agreed to share their catch data.
Most read
1.
Stock markets rally as central banks hold interest rates
2.
Ten recipes for summer barbecues that your guests will love
3.
Football: the final score and the highlights
About us
Contact
Privacy policy
Terms of use
© 2021 The Northern Courier. All rights reserved.
"""


def test_text_dump_of_another_site_is_cleaned(tmp_path):
    doc = ingest_text(tmp_path, "herring.txt", NORTHERN_COURIER)
    assert doc.id == "herring"
    assert doc.title == "The quiet revival of the Baltic herring fishery"
    assert doc.authors == ("Jane Morrow",)
    assert doc.date == "2021-03-03"
    assert doc.language == "en"
    body = texts(doc)
    assert [t[:25] for t in body] == [
        "Fishing crews in the nort",
        "The herring stock collaps",
        "Marine biologists at the ",
        "Fishermen in the small ha",
        "Regulators will review th",
    ]
    assert body[3].endswith("landed by local crews, who sell what they can directly on the quays.")  # line break rejoined
    joined = " ".join(body)
    for furniture in ("cookies", "Menu", "Share", "newsletter", "Related", "barbecues", "Most read", "Stock markets",
                      "Privacy", "©", "Skip to content"):  # fmt: skip
        assert furniture not in joined
    assert len(doc.dropped) >= 30
    assert citable_passages(doc)[-1].text == (
        "“The quiet revival of the Baltic herring fishery”, an article by Jane Morrow published on 3 March 2021."
    )


WRAPPED_MARKDOWN = """\
# Les abeilles sauvages face à la chaleur

*Par Jean DUPONT, le 3 février 2020*

Les abeilles sauvages supportent mal les vagues de chaleur qui se
multiplient en Europe. Une étude de l'[université de Montpellier](https://example.org)
montre que les colonies perdent jusqu'à un tiers de leurs butineuses[^1].

## Des nids trop chauds

Les nids creusés dans le sol atteignent des températures que les larves
ne supportent pas au-delà de quelques jours, selon les **relevés** menés
pendant trois étés consécutifs dans le Languedoc.

[^1]: Martin et al., *Wild bees and heat*, https://example.org/bees.pdf
"""


def test_wrapped_note_calls_on_consecutive_lines_stay_in_their_paragraph(tmp_path):
    # the wrapping put two note calls at the start of two lines in a row: the second
    # line starting with "[2]." is prose like the first, not a note list
    text = (
        "# Deux glaciers\n\n"
        "Le glacier du Rhône a reculé de dix mètres cette année selon le relevé suisse\n"
        "[1]. Le glacier d'Aletsch a perdu davantage encore selon les mêmes relevés\n"
        "[2]. Les deux reculent sans interruption notable depuis le milieu du XIXe siècle.\n\n"
        "Les guides de montagne adaptent leurs itinéraires chaque été à ces glaciers qui\n"
        "fondent, et certains refuges ne sont plus accessibles par leur chemin historique.\n\n"
        "## Notes\n\n[1]: Relevé suisse, https://example.org/1\n\n[2]: Relevé d'Aletsch, https://example.org/2\n"
    )
    doc = ingest_text(tmp_path, "glaciers.md", text)
    assert len(doc.paragraphs) == 2
    assert doc.paragraphs[0].text.endswith("[2]. Les deux reculent sans interruption notable depuis le milieu du XIXe siècle.")
    assert doc.paragraphs[0].footnotes == (1, 2) and [f.number for f in doc.footnotes] == [1, 2]


def test_hard_wrapped_markdown_with_footnote_definitions(tmp_path):
    doc = ingest_text(tmp_path, "abeilles.md", WRAPPED_MARKDOWN)
    assert doc.title == "Les abeilles sauvages face à la chaleur"
    assert doc.authors == ("Jean Dupont",)
    assert doc.date == "2020-02-03"
    assert texts(doc) == [
        "Les abeilles sauvages supportent mal les vagues de chaleur qui se multiplient en Europe. Une étude de "
        "l'université de Montpellier montre que les colonies perdent jusqu'à un tiers de leurs butineuses[1].",
        "Les nids creusés dans le sol atteignent des températures que les larves ne supportent pas au-delà de "
        "quelques jours, selon les relevés menés pendant trois étés consécutifs dans le Languedoc.",
    ]
    assert doc.paragraphs[0].footnotes == (1,)
    assert doc.paragraphs[1].section == "Des nids trop chauds"
    [note] = doc.footnotes
    assert note.url == "https://example.org/bees.pdf" and note.text.startswith("Martin et al., Wild bees and heat")


TRAINS = """\
Le retour des trains de nuit en Europe
Par Jeanne Martin
Publié le 2 janvier 2020
Les trains de nuit reviennent en Europe après deux décennies de fermetures de lignes, portés par le souci du climat et par des compagnies qui misent de nouveau sur les voitures-lits.
La ligne Paris-Vienne rouvre au mois de décembre, et les opérateurs autrichiens annoncent d'autres liaisons vers Amsterdam, Bruxelles et Rome dans les deux prochaines années.
Les voyageurs restent pourtant sensibles au prix : un billet en couchette coûte souvent plus cher qu'un vol, faute d'une taxe sur le kérosène qui rétablirait l'équilibre.
{closing}
© 2020 Exemple. Tous droits réservés.
"""


@pytest.mark.parametrize("closing, kept", [
    ("Article rédigé le 15 décembre 2019", ("Article rédigé le 15 décembre 2019",)),
    ("Updated on 3 January 2020", ("Updated on 3 January 2020",)),
    ("Publié le 2 janvier 2020", ()),  # the publication date again says nothing new
    ("15 décembre 2019", ()),  # a bare date says nothing about what it dates
    ("Lire aussi\nLes glaciers fondent, 3 mars 2020", ()),  # not the run of lines that closes the body
])  # fmt: skip
def test_a_closing_dateline_goes_to_the_metadata_card(tmp_path, closing, kept):
    doc = ingest_text(tmp_path, "trains.txt", TRAINS.format(closing=closing))
    assert doc.date == "2020-01-02" and doc.datelines == kept
    card = citable_passages(doc)[-1].text
    assert card.startswith("« Le retour des trains de nuit en Europe », article de Jeanne Martin publié le 2 janvier 2020.")
    assert all(f" {line}." in card for line in kept)
    assert all(closing.split("\n")[0] not in p.text for p in doc.paragraphs)


INTERVIEW = """\
Entretien
Pr Anne Morel : « La sécheresse n'est plus une exception »
Publié le 2 septembre 2022

Le Courrier des Alpes : Les glaciers alpins ont perdu un volume record cet été. Faut-il s'en étonner ?

Pr Anne Morel : Non. Les glaciers réagissent avec retard aux hivers peu enneigés, et les trois derniers hivers ont été parmi les plus secs mesurés depuis le début des relevés dans les Alpes.

La fonte de cet été résulte donc d'un déficit accumulé depuis plusieurs années, auquel se sont ajoutées des vagues de chaleur précoces dès le mois de juin.

Que peuvent faire les communes de montagne pour s'adapter à ce recul des glaciers ?

Elles doivent d'abord sécuriser l'eau potable, car de nombreux captages dépendent de la fonte estivale des glaciers et des névés en altitude.
"""


def test_interview_with_other_labels(tmp_path):
    doc = ingest_text(tmp_path, "glaciers.txt", INTERVIEW)
    kinds = [(p.kind, p.speaker) for p in doc.paragraphs]
    assert kinds == [
        ("question", "Le Courrier des Alpes"),
        ("answer", "Anne Morel"),
        ("answer", "Anne Morel"),
        ("question", "Le Courrier des Alpes"),
        ("answer", "Anne Morel"),
    ]
    assert doc.paragraphs[1].text.startswith("Non. Les glaciers")  # the "Pr Anne Morel : " prefix is stripped
    assert doc.site == "Le Courrier des Alpes"
    assert doc.date == "2022-09-02"


def test_prose_with_colons_is_not_an_interview(tmp_path):
    path = tmp_path / "prose.txt"
    path.write_text(
        "Un été record\n\n"
        "Renault : l'Etat actionnaire a soldé les comptes de l'ancien dirigeant et remet la stratégie à plat ?\n\n"
        "Les analystes : ils estiment que le constructeur devra encore réduire ses coûts pendant deux ans au moins.\n",
        encoding="utf-8",
    )
    assert {p.kind for p in ingest_file(path).paragraphs} == {"text"}


def test_plain_article_without_furniture_keeps_every_paragraph(tmp_path):
    path = tmp_path / "trees.txt"
    path.write_text(
        "Why cities plant trees\n\n"
        "Street trees lower summer temperatures by several degrees, according to a study of forty European "
        "cities published this spring by a team of climatologists.\n\n"
        "The effect is strongest in dense neighbourhoods, where asphalt and stone store heat during the day.\n\n"
        "- shade on pavements\n- cooler façades\n- fewer heat strokes\n\n"
        "Planting costs remain modest compared with the savings on air conditioning and public health.\n",
        encoding="utf-8",
    )
    doc = ingest_file(path)
    assert doc.title == "Why cities plant trees"
    assert doc.authors == ()  # "by several degrees" in a sentence is no byline
    assert [t[:12] for t in texts(doc)] == [
        "Street trees", "The effect i", "shade on pav", "cooler façad", "fewer heat s", "Planting cos",
    ]  # fmt: skip
    assert doc.dropped == ()


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Cyrille BRET", "Cyrille Bret"),
        ("JEAN-PIERRE DUPONT", "Jean-Pierre Dupont"),
        ("Dr Michael Eric Lambert", "Michael Eric Lambert"),
        ("Anne McCann", "Anne McCann"),
    ],
)
def test_normalize_name(raw, name):
    assert normalize_name(raw) == name


def test_markdown_to_text():
    text, links = markdown_to_text(r"Voir [l'OTAN](#), **gras**, *reset*, @cy\_bret et <https://ex.org/a_b> [5].")
    assert text == "Voir l'OTAN, gras, reset, @cy_bret et https://ex.org/a_b [5]."
    assert links == len("l'OTAN") + len("https://ex.org/a_b")


# --------------------------------------------------------------------------- bad input


def test_bad_files_are_reported_and_others_still_read(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(NORTHERN_COURIER, encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blank.md").write_text("  \n\n\t\n", encoding="utf-8")
    (tmp_path / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (tmp_path / "rules.md").write_text("---\n\n***\n\n# Titre seul\n", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "slides.key").write_bytes(b"PK\x03\x04")
    missing = tmp_path / "nowhere.txt"
    corpus = ingest_paths([tmp_path, missing, tmp_path / "slides.key"])
    assert [d.id for d in corpus.documents] == ["good"]
    messages = {Path(i.path).name: i.message for i in corpus.issues}
    assert set(messages) == {"empty.txt", "blank.md", "image.html", "rules.md", "nowhere.txt", "notes.pdf", "slides.key"}
    assert messages["empty.txt"] == "empty file"
    assert messages["blank.md"] == "empty file"
    assert "binary file" in messages["image.html"]
    assert "no paragraph" in messages["rules.md"]
    assert "no such file or folder" in messages["nowhere.txt"]
    assert "unsupported file type '.key'" in messages["slides.key"] and ".html" in messages["slides.key"]
    assert "not a readable PDF" in messages["notes.pdf"]
    for issue in corpus.issues:
        assert "\n" not in issue.message and Path(issue.path).parent == tmp_path


def test_latin1_file_is_decoded_with_a_notice(tmp_path):
    path = tmp_path / "latin.txt"
    text = ("Les élèves de l'école du quartier ont planté des arbres fruitiers dans la cour, "
            "et les parents d'élèves ont financé les outils nécessaires à l'entretien du verger.")  # fmt: skip
    path.write_bytes(f"Un verger à l'école\n\n{text}\n".encode("latin-1"))
    corpus = ingest_paths([path])
    [doc] = corpus.documents
    assert doc.paragraphs[0].text == text
    [notice] = corpus.issues
    assert notice.path == str(path) and "not UTF-8" in notice.message


def test_ingest_file_raises_one_line_error_naming_the_file(tmp_path):
    path = tmp_path / "empty.md"
    path.write_text("", encoding="utf-8")
    with pytest.raises(IngestError, match=r"empty\.md: empty file$"):
        ingest_file(path)
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(tmp_path / "missing.txt")
    other = tmp_path / "data.csv"
    other.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"data\.csv: unsupported file type '\.csv'; supported: \.txt, \.md"):
        ingest_file(other)


def test_folder_expansion_is_sorted_and_filtered(tmp_path):
    for name in ("b.md", "a.txt", "c.htm", "d.csv", ".hidden.txt"):
        (tmp_path / name).write_text(
            "<p>" + "Les abeilles sauvages supportent mal les vagues de chaleur en Europe. " * 3 + "</p>"
            if name.endswith("htm")
            else "Les abeilles sauvages supportent mal les vagues de chaleur en Europe. " * 3,
            encoding="utf-8",
        )
    corpus = ingest_paths([tmp_path])
    assert [d.id for d in corpus.documents] == ["a", "b", "c"]
    assert corpus.issues == ()


def test_same_stem_twice_is_skipped_with_an_issue(tmp_path):
    for name in ("x.txt", "x.md"):
        (tmp_path / name).write_text("Les abeilles sauvages supportent mal les vagues de chaleur. " * 3, encoding="utf-8")
    corpus = ingest_paths([tmp_path])
    assert [Path(d.source).name for d in corpus.documents] == ["x.md"]
    [issue] = corpus.issues
    assert issue.path.endswith("x.txt") and "same document id 'x'" in issue.message


def test_seed_folder(tmp_path):
    corpus = ingest_paths([SEEDS])
    assert [d.id for d in corpus.documents] == ["000_d870e11f8aecef73", "002_42ac76fe60a39ace"]
    assert corpus.issues == ()
    for doc in corpus.documents:
        assert all(re.fullmatch(rf"{doc.id}:p\d+", p.id) for p in doc.paragraphs)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig", "utf-16-le", "cp1252"])
def test_text_in_utf16_utf32_and_legacy_encodings_is_read(tmp_path, encoding):
    path = tmp_path / "glacier.md"
    path.write_bytes(GLACIERS_ARTICLE.encode(encoding))
    corpus = ingest_paths([path])
    (doc,) = corpus.documents
    (tmp_path / "utf8").mkdir()
    assert doc == replace(ingest_text(tmp_path / "utf8", "glacier.md", GLACIERS_ARTICLE), source=str(path))
    notices = [i.message for i in corpus.issues]
    assert notices == [] if encoding in ("utf-8-sig",) else len(notices) == 1


def test_a_body_paragraph_naming_the_title_and_a_year_stays_a_paragraph(tmp_path):
    text = ("# Le retour des trains de nuit\n\nPar Paul Durand, 4 avril 2021\n\n"
            "Les compagnies ferroviaires européennes rouvrent des lignes de nuit depuis quelques années, "
            "portées par des voyageurs qui ne veulent plus prendre l'avion pour de courtes distances.\n\n"
            "En 2019 déjà, le rapport intitulé Le retour des trains de nuit annonçait cette tendance, "
            "chiffres de fréquentation à l'appui, pour la plupart des grandes capitales du continent.\n\n"
            "La ligne entre Paris et Vienne a rouvert en décembre 2021 après une décennie d'absence, "
            "et d'autres lignes doivent suivre vers Berlin et Barcelone dans les prochaines années.\n")
    doc = ingest_text(tmp_path, "trains.md", text)
    assert any("En 2019 déjà" in p.text for p in doc.paragraphs)
    assert doc.site is None or "2019" not in doc.site
