"""References of a passage (`rag.render.cite`, `renvoi cite`): each style, from records made here;
BibTeX read back by bibtexparser and CSL-JSON rendered by citeproc-py."""

from __future__ import annotations

import json

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors, SplitNameParts
from citeproc import Citation as CslCitation
from citeproc import CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from markdown_it import MarkdownIt

import rag.pipeline
from rag.cli import main
from rag.records import Document, Footnote, NoteCall, Paragraph
from rag.render.cite import STYLES, cite, cite_key, name_parts, passage_citation

from conftest import GLACIERS_ARTICLE, HashEmbedder

FIRST = "Le Rhône a perdu 30 % de sa masse [3]."
SECOND = "Les guides parlent d'un « deuil » [4]."
TEXT = f"{FIRST} {SECOND}"
TITLE = "Glaciers & climat : 50 % des {cas}_#~^ étudiés"
URL = "https://example.org/glaciers?id=7&x=1"


def _document(**changes) -> tuple[Paragraph, Document]:
    calls = tuple(NoteCall(n, TEXT.index(f"[{n}]"), TEXT.index(f"[{n}]") + 3) for n in (3, 4))
    p = Paragraph(id="glaciers:p15", doc_id="glaciers", text=TEXT, n=15, section="II. La fonte",
                  footnotes=(3, 4), calls=calls, page=changes.pop("page", None))
    notes = (Footnote(3, "Relevés GLAMOS, https://example.org/glamos", "https://example.org/glamos"),
             Footnote(4, "Entretien avec l'auteure, 2019."), Footnote(5, "Note que ce passage n'appelle pas."))
    fields = dict(id="glaciers", title=TITLE, source="glaciers.html", authors=("Charles de Gaulle", "Jeanne Martin"),
                  date="2016-11-11", site="Le Temps", language="fr", paragraphs=(p,), footnotes=notes, url=URL)
    return p, Document(**{**fields, **changes})


def test_text_is_written_in_the_readers_language():
    p, d = _document()
    c = passage_citation(p, d)
    fr, de, en = cite(c, "text", "fr"), cite(c, "text", "de"), cite(c, "text", "en")
    assert fr.splitlines()[0] == (f"Charles de Gaulle et Jeanne Martin, « {TITLE} », Le Temps, 11 novembre 2016, "
                                  f"II. La fonte, ¶ 15, {URL}.")
    assert fr.splitlines()[1] == f"« {TEXT} »"
    assert fr.splitlines()[2:] == ["Note 3 : Relevés GLAMOS, https://example.org/glamos",
                                   "Note 4 : Entretien avec l'auteure, 2019."]
    assert de.splitlines()[0].startswith(f"Charles de Gaulle und Jeanne Martin, „{TITLE}“, Le Temps, 11. November 2016")
    assert de.splitlines()[2].startswith("Anmerkung 3: ")
    assert "November 11, 2016" in en and f"“{TEXT}”" in en
    assert "Note que ce passage" not in fr  # only the notes the passage calls


def test_a_quote_carries_the_notes_it_calls():
    p, d = _document()
    c = passage_citation(p, d, SECOND)
    assert c.quote == SECOND and [f.number for f in c.footnotes] == [4]
    assert c.spans[0].start == TEXT.index(SECOND)
    out = cite(c, "text", "fr")
    assert f"« {SECOND} »" in out and "Note 4" in out and "Note 3" not in out
    with pytest.raises(ValueError, match="not in passage glaciers:p15"):
        passage_citation(p, d, "Une phrase qui n'y est pas.")


def test_a_pdf_is_cited_by_its_page():
    p, d = _document(page=7, format="pdf")
    assert "II. La fonte, p. 7." in cite(passage_citation(p, d), "text", "fr").splitlines()[0].replace(f", {URL}", "")
    assert "¶" not in cite(passage_citation(p, d), "text", "fr")
    entry = bibtexparser.parse_string(cite(passage_citation(p, d), "bibtex", "fr")).entries[0]
    assert entry["pages"] == "7"
    assert json.loads(cite(passage_citation(p, d), "csl-json", "fr"))[0]["page"] == "7"


def test_bibtex_is_read_back_by_bibtexparser():
    p, d = _document()
    out = cite(passage_citation(p, d, FIRST), "bibtex", "fr")
    library = bibtexparser.parse_string(out, append_middleware=[LatexDecodingMiddleware()])
    assert library.failed_blocks == [] and len(library.entries) == 1
    entry = library.entries[0]
    assert entry.entry_type == "misc" and entry.key == "degaulle2016glaciers-p15" == cite_key(passage_citation(p, d))
    # LaTeX specials escaped, and read back as written (pylatexenc reads \textasciicircum as U+02C6)
    assert entry["title"].replace("\u02c6", "^") == TITLE
    assert entry["author"] == "Charles de Gaulle and Jeanne Martin"
    assert (entry["year"], entry["date"], entry["howpublished"]) == ("2016", "2016-11-11", "Le Temps")
    assert entry["note"] == "II. La fonte, ¶ 15" and entry["langid"] == "french"
    assert bibtexparser.parse_string(out).entries[0]["url"] == URL  # verbatim: never decoded as LaTeX
    assert entry["annote"] == f"« {FIRST} » Note 3 : Relevés GLAMOS, https://example.org/glamos"
    # BibTeX reads the names as the CSL item splits them
    names = bibtexparser.parse_string(out, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    first = names.entries[0]["author"][0]
    csl = json.loads(cite(passage_citation(p, d), "csl-json", "fr"))[0]["author"][0]
    assert (" ".join(first.first), " ".join(first.von + first.last)) == (csl["given"], csl["family"])


def test_csl_json_is_rendered_by_citeproc():
    p, d = _document()
    items = json.loads(cite(passage_citation(p, d, SECOND), "csl-json", "en"))
    item = items[0]
    assert item["id"] == "degaulle2016glaciers-p15" and item["type"] == "webpage"
    assert item["author"] == [{"family": "de Gaulle", "given": "Charles"}, {"family": "Martin", "given": "Jeanne"}]
    assert item["issued"] == {"date-parts": [[2016, 11, 11]]} and item["URL"] == URL
    assert item["note"] == "II. La fonte, ¶ 15"
    assert item["annote"] == f"“{SECOND}” Note 4: Entretien avec l'auteure, 2019."
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    bibliography.register(CslCitation([CitationItem(item["id"])]))
    rendered = str(bibliography.bibliography()[0])
    assert "de Gaulle, C." in rendered and "2016" in rendered and "Glaciers & climat" in rendered
    assert "Le Temps" in rendered


def test_markdown_reads_as_the_reference():
    p, d = _document()
    out = cite(passage_citation(p, d), "markdown", "fr")
    tokens = MarkdownIt("commonmark").parse(out)
    inline = [t for t in tokens if t.type == "inline"]
    head = inline[0]
    link = next(t for t in head.children if t.type == "link_open")
    assert link.attrs["href"] == URL
    assert "".join(t.content for t in head.children if t.type == "text").startswith(
        f"Charles de Gaulle et Jeanne Martin, « {TITLE} », ")
    assert [t.type for t in tokens[3:5]] == ["blockquote_open", "paragraph_open"]
    assert "".join(t.content for t in inline[1].children if t.type == "text") == f"« {TEXT} »"
    assert [t.type for t in tokens[8:10]] == ["bullet_list_open", "list_item_open"]
    notes = ["".join(c.content for c in t.children if c.type == "text") for t in inline[2:]]
    assert notes == ["Note 3 : Relevés GLAMOS, https://example.org/glamos",
                     "Note 4 : Entretien avec l'auteure, 2019."]
    assert [c.attrs["href"] for c in inline[2].children if c.type == "link_open"] == ["https://example.org/glamos"]
    assert not any(t.type in ("html_inline", "em", "strong") for t in head.children)


def test_a_document_without_metadata_is_still_cited():
    p = Paragraph(id="note:p2", doc_id="note", text="Une phrase.", n=2)
    c = passage_citation(p, Document(id="note", title="Note interne", source="note.txt"))
    assert cite(c, "text", "fr") == "« Note interne », s.d., ¶ 2.\n« Une phrase. »"
    entry = bibtexparser.parse_string(cite(c, "bibtex", "en")).entries[0]
    assert entry.key == "notenote-p2" and "author" not in entry.fields_dict and "year" not in entry.fields_dict
    item = json.loads(cite(c, "csl-json", "en"))[0]
    assert item["type"] == "article" and "author" not in item and "issued" not in item


@pytest.mark.parametrize("name, parts", [("Cyrille Bret", ("Cyrille", "Bret")),
                                         ("Charles de Gaulle", ("Charles", "de Gaulle")),
                                         ("Martin, Jeanne", ("Jeanne", "Martin")),
                                         ("Reuters", ("", "Reuters"))])
def test_names_are_split_as_bibtex_reads_them(name, parts):
    assert name_parts(name) == parts


def test_unknown_style_or_language_is_named_with_the_allowed_ones():
    p, d = _document()
    with pytest.raises(ValueError, match=r"'apa'; allowed: text, markdown, bibtex, csl-json"):
        cite(passage_citation(p, d), "apa", "fr")
    with pytest.raises(ValueError, match=r"'xx'; allowed: fr, en, de, es, it, pt"):
        cite(passage_citation(p, d), "text", "xx")


# ---------------------------------------------------------------- renvoi cite


def test_cli_cites_a_passage_of_the_index_without_a_model(tmp_path, monkeypatch, capsys):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    index_dir = tmp_path / "idx"
    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config: HashEmbedder())
    assert main(["index", str(tmp_path / "corpus"), "--index-dir", str(index_dir)]) == 0

    def no_model(config):
        raise AssertionError("cite loaded an embedding model")

    monkeypatch.setattr(rag.pipeline, "_load_embedder", no_model)
    capsys.readouterr()
    out = {}
    for style in STYLES:
        assert main(["cite", "glaciers:p1", "--style", style, "--lang", "fr", "--index-dir", str(index_dir)]) == 0
        out[style] = capsys.readouterr().out
    assert out["text"].splitlines()[0] == ("Jeanne Martin, « Les glaciers des Alpes fondent plus vite que prévu », "
                                           "2 janvier 2020, ¶ 1.")
    assert out["text"].splitlines()[-1] == "Note 1 : Relevés glaciologiques suisses, https://example.org/glamos"
    entry = bibtexparser.parse_string(out["bibtex"]).entries[0]
    assert entry.key == "martin2020glaciers-p1" and entry["note"] == "¶ 1"
    assert json.loads(out["csl-json"])[0]["issued"] == {"date-parts": [[2020, 1, 2]]}
    assert "<https://example.org/glamos>" in out["markdown"]

    monkeypatch.setenv("LANGUAGE", "de_DE")  # the reader's locale when --lang is not given
    assert main(["cite", "glaciers:p1", "--index-dir", str(index_dir)]) == 0
    assert "2. Januar 2020" in capsys.readouterr().out

    assert main(["cite", "glaciers:p9", "--index-dir", str(index_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'glaciers:p9'" in err and "renvoi search" in err
    for flag, value in (("--style", "apa"), ("--lang", "xx")):
        assert main(["cite", "glaciers:p1", flag, value, "--index-dir", str(index_dir)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and repr(value) in err and "allowed:" in err
    assert main(["cite", "glaciers:p1", "--index-dir", str(tmp_path / "none")]) == 1
    assert "no index" in capsys.readouterr().err
