"""The Markdown export (`rag.render.markdown`, `renvoi ask --format markdown`): answers keep
their markers, references and the documents' notes are footnotes that resolve, and document
text is never read as Markdown. Read back with markdown-it-py and its footnote plugin."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

import rag.pipeline
from rag.cli import main
from rag.records import Answer, Attribution, Citation, Claim, Document, Footnote, Hit, NoteCall, Paragraph, Span
from rag.render.markdown import answer_markdown, conversation_markdown

from conftest import GLACIERS_ARTICLE, HashEmbedder

SENTENCE = "Le glacier a perdu un tiers de sa masse [3] depuis 1900."
PASSAGE = f"Introduction. {SENTENCE} Fin."
OTHER = "Les trains de nuit reviennent [1] en Europe."


def _paragraph(doc_id: str, n: int, text: str, numbers: tuple[int, ...]) -> Paragraph:
    calls = tuple(NoteCall(k, text.index(f"[{k}]"), text.index(f"[{k}]") + len(f"[{k}]")) for k in numbers)
    return Paragraph(id=f"{doc_id}:p{n}", doc_id=doc_id, text=text, n=n, section="I. Faits", footnotes=numbers,
                     calls=calls)


GLACIER = _paragraph("glaciers", 4, PASSAGE, (3,))
TRAINS = _paragraph("trains", 2, OTHER, (1,))
DOCS = {
    "glaciers": Document(id="glaciers", title="Les glaciers fondent", source="g.md", authors=("Jeanne Martin",),
                         date="2020-01-02", site="Le Temps", url="https://example.org/glaciers", paragraphs=(GLACIER,),
                         footnotes=(Footnote(3, "Relevés GLAMOS, https://example.org/glamos", "https://example.org/glamos"),)),
    "trains": Document(id="trains", title="Les trains de nuit", source="t.md", authors=("Paul Durand",),
                       date="2021-05-01", paragraphs=(TRAINS,), footnotes=(Footnote(1, "Rapport de l'UIC, 2020."),)),
}


def _quoted(passage: Paragraph, text: str, marker: int) -> tuple[Claim, Citation]:
    at = passage.text.index(text)
    span = Span(passage.id, at, at + len(text), text)
    doc = DOCS[passage.doc_id]
    notes = tuple(doc.footnote(c.number) for c in passage.calls if at <= c.start and c.end <= at + len(text))
    claim = Claim(text, (span,), (marker,), Attribution(doc.authors[0], "author"))
    return claim, Citation(marker, passage, doc, text, notes, (span,))


def _answer(question: str, *pairs: tuple[Claim, Citation], language: str = "fr") -> Answer:
    return Answer(question=question, status="answered", language=language, claims=tuple(c for c, _ in pairs),
                  citations=tuple(c for _, c in pairs))


def read(markdown: str) -> tuple[list, dict[str, str], list[str]]:
    """Parse `markdown`: its block tokens, the text of each footnote definition by label, and the
    labels of the footnote references in order (those inside definitions too)."""
    md = MarkdownIt("commonmark").enable(["strikethrough", "table"]).use(footnote_plugin)
    env: dict = {}
    tokens = md.parse(markdown, env)
    refs = [t.meta["label"] for block in tokens if block.type == "inline" for t in block.children
            if t.type == "footnote_ref"]
    defined, label = {}, None
    for t in tokens:
        if t.type == "footnote_open":
            label = t.meta["label"]
        elif t.type == "inline" and label is not None:
            defined[label] = defined.get(label, "") + "".join(c.content for c in t.children if c.type == "text")
        elif t.type == "footnote_close":
            label = None
    assert set(env.get("footnotes", {}).get("refs", {})) == {f":{k}" for k in defined}
    return tokens, defined, refs


def resolves(markdown: str) -> tuple[dict[str, str], list[str]]:
    """Every footnote reference has its definition and every definition is referenced."""
    _, defined, refs = read(markdown)
    assert set(refs) == set(defined), (refs, sorted(defined))
    return defined, refs


def test_an_answer_keeps_its_markers_and_its_notes_as_footnotes():
    answer = _answer("Que perd le glacier ?", _quoted(GLACIER, SENTENCE, 1), _quoted(TRAINS, OTHER, 2))
    md = answer_markdown(answer, DOCS)
    defined, refs = resolves(md)
    # the markers in order, each note called where the quote calls it (two documents: numbered labels)
    assert refs == ["note-1-3", "1", "note-2-1", "2"]
    assert defined["1"] == "Jeanne Martin, « Les glaciers fondent », Le Temps, 2 janvier 2020, I. Faits, ¶ 4."
    assert defined["2"] == "Paul Durand, « Les trains de nuit », 1 mai 2021, I. Faits, ¶ 2."
    assert defined["note-1-3"] == "Note 3 (Les glaciers fondent) : Relevés GLAMOS, https://example.org/glamos"
    assert defined["note-2-1"] == "Note 1 (Les trains de nuit) : Rapport de l'UIC, 2020."
    tokens, _, _ = read(md)
    heading = tokens[[t.type for t in tokens].index("heading_open") + 1]
    assert heading.content == "Que perd le glacier ?"
    item = next(t for t in tokens if t.type == "inline" and t.content.startswith("Jeanne Martin écrit"))
    # the quote reads as the passage, its call "[3]" now a footnote reference
    text = "".join(c.content for c in item.children if c.type == "text")
    assert text == f"Jeanne Martin écrit : « {SENTENCE.replace('[3]', '')} » "
    links = [c.attrs["href"] for t in tokens if t.type == "inline" for c in t.children if c.type == "link_open"]
    assert "https://example.org/glaciers" in links and "https://example.org/glamos" in links


def test_a_conversation_has_distinct_labels_and_defines_each_note_once():
    first = _answer("Que perd le glacier ?", _quoted(GLACIER, SENTENCE, 1))
    again = _answer("Et depuis quand ?", _quoted(GLACIER, SENTENCE, 1))
    md = conversation_markdown([first, again], DOCS, title="Conversation du 3 mars")
    defined, refs = resolves(md)
    assert refs == ["note-3", "1.1", "note-3", "2.1"]  # one document's notes: labelled by their number
    assert sorted(defined) == ["1.1", "2.1", "note-3"] and md.count("[^note-3]:") == 1
    assert md.startswith("# Conversation du 3 mars\n\n## Que perd le glacier ?")
    assert md.index("[^1.1]:") < md.index("## Et depuis quand ?") < md.index("[^2.1]:")


def test_a_generated_answer_refers_to_the_notes_its_words_do_not_call():
    span = Span(GLACIER.id, PASSAGE.index(SENTENCE), PASSAGE.index(SENTENCE) + len(SENTENCE), SENTENCE)
    claims = (Claim("Le glacier a fondu d'un tiers.", (span,), (1,), quoted=False),
              Claim("Il pourrait disparaître.", (), (), quoted=False, support="unsupported"))
    answer = Answer(question="Que perd le glacier ?", status="answered", language="en", claims=claims,
                    citations=(Citation(1, GLACIER, DOCS["glaciers"], SENTENCE, (DOCS["glaciers"].footnote(3),),
                                        (span,)),), composer="generative")
    md = answer_markdown(answer, DOCS)
    defined, refs = resolves(md)
    assert refs == ["1", "note-3"]
    assert "Le glacier a fondu d'un tiers [^1]." in md and "Il pourrait disparaître \\[?\\]." in md
    # the reference shows the quote the model's words rest on, and points to its note
    assert defined["1"].endswith(f"I. Faits, ¶ 4. “{SENTENCE}” note 3")
    assert defined["note-3"].startswith("Note 3: ")


def test_an_abstention_lists_related_passages_without_footnotes():
    hit = Hit(rank=1, passage=GLACIER, score=0.1, dense_score=0.1, bm25_score=0.0, best_sentence=SENTENCE)
    answer = Answer(question="Qui a gagné en 1998 ?", status="abstained", language="fr", hits=(hit,))
    md = answer_markdown(answer, DOCS)
    defined, refs = resolves(md)
    assert defined == {} and refs == []
    assert "Les documents ne permettent pas de répondre" in md
    assert "perdu un tiers de sa masse (note 3) depuis 1900" in md  # the call in words: it cites nothing


@pytest.mark.parametrize("nasty", [
    "*gras* et _penché_ [^1] <b>balise</b> &amp; R&D `code` # titre | table ~~barré~~ \\ fin #",
    "1. Une liste ? Non.",
    "- tiret\nsur deux lignes\n\n=== souligné",
])
def test_document_text_is_never_read_as_markdown(nasty):
    passage = Paragraph(id="x:p1", doc_id="x", text=nasty, n=1)
    doc = Document(id="x", title=nasty, source="x.md", authors=("A. Auteur",), paragraphs=(passage,))
    span = Span(passage.id, 0, len(nasty), nasty)
    answer = Answer(question=nasty, status="answered", language="fr",
                    claims=(Claim(nasty, (span,), (1,), Attribution("A. Auteur", "author")),),
                    citations=(Citation(1, passage, doc, nasty, (), (span,)),))
    md = answer_markdown(answer, {"x": doc})
    tokens, defined, refs = read(md)
    assert refs == ["1"] and list(defined) == ["1"]
    one_line = " ".join(nasty.split())
    inline = [t for t in tokens if t.type == "inline"]
    children = [c for t in inline for c in t.children]
    assert not {c.type for c in children} & {"em_open", "strong_open", "html_inline", "code_inline", "link_open",
                                             "s_open"}
    assert inline[0].content and "".join(c.content for c in inline[0].children) == one_line  # the question
    assert not any(t.type in ("bullet_list_open", "ordered_list_open") for t in tokens[:3])
    quoted = next(t for t in inline if t.content.startswith("A. Auteur"))
    assert "".join(c.content for c in quoted.children if c.type == "text") == f"A. Auteur écrit : « {one_line} » "
    assert defined["1"].startswith(f"A. Auteur, « {one_line} », s.d., ¶ 1")


def test_cli_ask_prints_the_answer_as_markdown(tmp_path, monkeypatch, capsys):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    index_dir = tmp_path / "idx"
    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config: HashEmbedder())
    assert main(["index", str(tmp_path / "corpus"), "--index-dir", str(index_dir)]) == 0
    capsys.readouterr()
    # worded as the passage: the hash embedder's similarities are not on the real model's scale
    question = "Le glacier du Rhône a-t-il perdu un tiers de sa masse depuis 1900, selon les glaciologues suisses ?"
    assert main(["ask", question, "--format", "markdown", "--index-dir", str(index_dir)]) == 0
    md = capsys.readouterr().out
    defined, refs = resolves(md)
    assert md.startswith(f"## {question}\n")
    assert refs[:2] == ["note-1", "1"] and defined["note-1"].endswith("https://example.org/glamos")
    assert defined["1"].startswith("Jeanne Martin, « Les glaciers des Alpes fondent plus vite que prévu »")
    for argv in (["--format", "pdf"], ["--format", "markdown", "--json"]):
        assert main(["ask", question, *argv, "--index-dir", str(index_dir)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--format" in err
