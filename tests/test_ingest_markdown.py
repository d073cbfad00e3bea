"""The Markdown reader (rag/ingest/markdown.py): what a reader of a .md file relies on.

Notes linked to their calls, lists with their lead-in, table rows with their header,
code verbatim, links kept as text, metadata from the front matter or the byline,
a web page's navigation left out with its reason, and one-line errors."""

from __future__ import annotations

import pytest

from conftest import ingest_text
from rag.ingest import IngestError, citable_passages
from rag.ingest.markdown import read_markdown

NOTES = """\
# Les ruches en hiver

Une colonie consomme une vingtaine de kilos de miel pendant l'hiver[^1], davantage
quand il est doux et que les abeilles sortent sans trouver de fleurs[^2].

Un sirop épais de sucre et d'eau remplace les réserves qui manquent.

[^1]: Relevés de l'observatoire apicole, <https://example.org/releves-2020>.

[^2]: Voir le [guide du rucher](https://example.org/guide) et la note suivante.

    Un second paragraphe de la note, sur les hivers doux.
"""


def test_note_calls_become_numbers_and_notes_keep_their_link(tmp_path):
    doc = ingest_text(tmp_path, "ruches.md", NOTES)
    assert doc.title == "Les ruches en hiver"
    first = doc.paragraphs[0]
    assert first.text == ("Une colonie consomme une vingtaine de kilos de miel pendant l'hiver[1], davantage quand il "
                          "est doux et que les abeilles sortent sans trouver de fleurs[2].")
    assert first.footnotes == (1, 2)
    assert [first.text[c.start:c.end] for c in first.calls] == ["[1]", "[2]"]
    one, two = doc.footnotes
    assert one.number == 1 and one.text == "Relevés de l'observatoire apicole, https://example.org/releves-2020."
    assert one.url == "https://example.org/releves-2020"
    assert two.url == "https://example.org/guide"
    assert two.text == ("Voir le guide du rucher et la note suivante. "
                        "Un second paragraphe de la note, sur les hivers doux.")
    assert len(doc.paragraphs) == 2  # the notes are no passages


def test_named_and_inline_notes_are_numbered_in_order_of_their_calls():
    parsed = read_markdown("Un appel[^source] puis un autre^[Une note *en ligne*.].\n\n[^source]: La source.\n")
    assert parsed.parts[0].text == "Un appel[1] puis un autre[2]."
    assert [(n.number, n.text) for n in parsed.notes] == [(1, "La source."), (2, "Une note en ligne.")]


def test_a_note_list_written_as_text_at_the_end_is_the_notes():
    parsed = read_markdown("Le relevé [1] et le rapport [2].\n\n## Notes\n\n[1]: Relevé suisse, https://example.org/1\n\n"
                           "[2]: Rapport, https://example.org/2\n")
    assert [p.text for p in parsed.parts] == ["Le relevé [1] et le rapport [2]."]
    assert [(n.number, n.url) for n in parsed.notes] == [(1, "https://example.org/1"), (2, "https://example.org/2")]
    assert ("Notes", "heading of the notes") in [(d.text, d.reason) for d in parsed.dropped]


LISTS = """\
# Préparer l'hivernage

Avant l'hiver, l'apiculteur fait trois choses. Il prépare la ruche ainsi :

- il réduit l'entrée
  avec une grille ;
- il pèse la ruche :
  1. à la main, en la soulevant par l'arrière ;
  2. avec un peson, plus sûr.
- il traite contre le varroa.

Ensuite, il attend le printemps.

- Une liste sans phrase d'introduction.
"""


def test_list_items_carry_their_lead_in_and_nested_items_their_parent():
    parts = read_markdown(LISTS).parts
    items = [(p.text, p.context) for p in parts if p.kind == "item"]
    lead = "Il prépare la ruche ainsi :"
    assert items == [
        ("il réduit l'entrée avec une grille ;", lead),
        ("il pèse la ruche :", lead),
        ("à la main, en la soulevant par l'arrière ;", "il pèse la ruche :"),
        ("avec un peson, plus sûr.", "il pèse la ruche :"),
        ("il traite contre le varroa.", lead),
        ("Une liste sans phrase d'introduction.", None),
    ]
    doc_parts = [p.text for p in parts]
    assert "Ensuite, il attend le printemps." in doc_parts


def test_list_context_reaches_the_passages(tmp_path):
    doc = ingest_text(tmp_path, "hivernage.md", LISTS)
    item = next(p for p in doc.paragraphs if p.text.startswith("avec un peson"))
    assert item.context == "il pèse la ruche :" and item.section is None


TABLE = """\
# Les races d'abeilles

| Race | Origine | Douceur |
|------|---------|---------|
| Buckfast | Angleterre | très douce |
| Noire | France | **nerveuse** |
"""


def test_table_rows_are_parts_with_the_header_as_context(tmp_path):
    parts = read_markdown(TABLE).parts
    rows = [(p.text, p.context) for p in parts if p.kind == "row"]
    assert rows == [("Buckfast | Angleterre | très douce", "Race | Origine | Douceur"),
                    ("Noire | France | nerveuse", "Race | Origine | Douceur")]
    doc = ingest_text(tmp_path, "races.md", TABLE)
    assert [p.context for p in doc.paragraphs] == ["Race | Origine | Douceur"] * 2


def test_pandoc_simple_tables_are_tables_too():
    text = ("Les sections :\n\n  Section   Contenu\n  --------- ----------------------\n"
            "  1         Commandes des utilisateurs\n  8         Administration\n\nFin du texte.\n")
    parts = read_markdown(text).parts
    assert [(p.kind, p.text, p.context) for p in parts if p.kind == "row"] == [
        ("row", "1 | Commandes des utilisateurs", "Section | Contenu"),
        ("row", "8 | Administration", "Section | Contenu"),
    ]
    assert parts[-1].text == "Fin du texte."


def test_code_blocks_are_kept_verbatim():
    text = ("Le fichier de configuration :\n\n```ini\n[ruche]\n  poids = 42   # kg\n\nentree = reduite\n```\n\n"
            "Ou indenté :\n\n    $ peser --ruche 3\n      ok\n")
    code = [p.text for p in read_markdown(text).parts if p.kind == "code"]
    assert code == ["[ruche]\n  poids = 42   # kg\n\nentree = reduite", "$ peser --ruche 3\n  ok"]


def test_links_keep_their_text_and_addresses_stay_whole():
    text = ("Voir [le guide](https://example.org/guide \"titre\"), <https://example.org/a_b*c>, "
            "<apiculteur@example.org>, https://example.org/nu_1 et *www.example.org/x*.\n\n"
            "![Une ruche](ruche.png)\n\nDu **gras**, du `code_inline`, du <b>HTML</b> et <script>alert(1)</script> cité.\n")
    parsed = read_markdown(text)
    assert [p.text for p in parsed.parts] == [
        "Voir le guide, https://example.org/a_b*c, apiculteur@example.org, https://example.org/nu_1 et "
        "www.example.org/x.",
        "Du gras, du code_inline, du HTML et <script>alert(1)</script> cité.",
    ]
    assert ("Une ruche", "image (its alternative text is no part of the text)") in [(d.text, d.reason) for d in parsed.dropped]


def test_headings_setext_and_atx_quotes_and_soft_breaks():
    text = "Titre du dossier\n================\n\nSous-partie\n-----------\n\n> Une citation\n> sur deux lignes.\n\n### Détail ###\n\nTexte.\n"
    parts = read_markdown(text).parts
    assert [(p.kind, p.text, p.level) for p in parts] == [
        ("heading", "Titre du dossier", 1), ("heading", "Sous-partie", 2),
        ("quote", "Une citation sur deux lignes.", 0), ("heading", "Détail", 3), ("paragraph", "Texte.", 0),
    ]


def test_definition_lists_give_terms_and_definitions():
    parts = read_markdown("Essaim\n:   Une colonie qui quitte sa ruche avec une reine.\n").parts
    assert [(p.kind, p.text, p.context) for p in parts] == [
        ("term", "Essaim", None), ("definition", "Une colonie qui quitte sa ruche avec une reine.", "Essaim")]


def test_front_matter_is_the_metadata(tmp_path):
    text = ("---\ntitle: \"L'abeille noire\"\nauthor:\n  - Jeanne MARTIN\n  - Paul Durand\ndate: 2021-04-05\nlang: fr-FR\n---\n\n"
            "L'abeille noire est la race locale de l'ouest de l'Europe, rustique et économe en hiver.\n")
    doc = ingest_text(tmp_path, "noire.md", text)
    assert doc.title == "L'abeille noire" and doc.authors == ("Jeanne Martin", "Paul Durand")
    assert doc.date == "2021-04-05" and doc.language == "fr" and doc.format == "markdown"
    assert [p.text for p in doc.paragraphs] == [
        "L'abeille noire est la race locale de l'ouest de l'Europe, rustique et économe en hiver."]


def test_html_blocks_are_reduced_to_their_text():
    text = "<div class=\"encart\">\n<p>Un encadré en <em>HTML</em>.</p>\n</div>\n\n<!-- un commentaire -->\n\nSuite.\n"
    parsed = read_markdown(text)
    assert [p.text for p in parsed.parts] == ["Un encadré en HTML.", "Suite."]
    assert any("comment" in d.reason for d in parsed.dropped)


PAGE = """\
[![Logo](logo.svg)](https://example.org/)

### [Sommaire](../index.html)

-   [Les ruches](#)
    -   [Hivernage](#hivernage)

#### Page précédente

[Le rucher](rucher.html "previous chapter")

# Les ruches

Une ruche abrite une colonie d'abeilles, sa reine et ses réserves de miel pour l'hiver.

## Hivernage

En hiver, les abeilles se serrent en grappe autour de la reine pour garder la chaleur.

### [Sommaire](../index.html)

-   [Les ruches](#)
    -   [Hivernage](#hivernage)

© Copyright 2024, les apiculteurs. [Faire un don](https://example.org/don)
"""


def test_a_web_pages_navigation_and_footer_are_dropped_with_their_reason(tmp_path):
    doc = ingest_text(tmp_path, "ruches.md", PAGE)
    assert doc.title == "Les ruches"
    assert [p.text for p in doc.paragraphs] == [
        "Une ruche abrite une colonie d'abeilles, sa reine et ses réserves de miel pour l'hiver.",
        "En hiver, les abeilles se serrent en grappe autour de la reine pour garder la chaleur.",
    ]
    reasons = {d.text: d.reason for d in doc.dropped}
    assert reasons["Le rucher"] == "navigation before the title (links only)"
    assert "navigation again" in reasons["© Copyright 2024, les apiculteurs. Faire un don"]
    assert [s.title for s in doc.sections] == ["Hivernage"]


def test_a_sentence_cut_by_a_blank_line_is_joined():
    parts = read_markdown("Le glacier recule de dix mètres\n\npar an depuis le début du siècle.\n\nAutre paragraphe.\n").parts
    assert [p.text for p in parts] == ["Le glacier recule de dix mètres par an depuis le début du siècle.", "Autre paragraphe."]


def test_a_file_without_text_is_a_one_line_error(tmp_path):
    with pytest.raises(IngestError) as e:
        ingest_text(tmp_path, "vide.md", "# Un titre seul\n\n![image](a.png)\n\n---\n")
    assert str(e.value) == f"{tmp_path / 'vide.md'}: no paragraph of text found"
    assert "\n" not in str(e.value)


def test_citable_passages_of_a_markdown_document(tmp_path):
    doc = ingest_text(tmp_path, "ruches.md", NOTES)
    passages = citable_passages(doc)
    assert [p.id for p in passages] == ["ruches:p1", "ruches:p2", "ruches:meta"]
    assert all(p.language == "fr" for p in passages[:2])
