"""HTML of the chat page (rag.render.html): escaping, links, claims and markers, sources,
abstention, generated answers and drafts, the context panel."""

from __future__ import annotations

import re

import pytest

from rag.records import Answer, Attribution, Citation, Claim, Document, Footnote, Hit, NoteCall, Paragraph, Span
from rag.render.html import (
    highlight,
    linkify,
    neighbours,
    parse_source_key,
    render_answer,
    render_hits,
    render_panel,
    render_question,
    safe_url,
    source_refs,
)

EVIL = '<script>alert("x")</script>'


def _doc(title: str = "Géographies", author: str = "Jeanne Martin") -> Document:
    texts = [
        ("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900.", ()),
        ("L'OTAN s'est étendue en 1999 à la Pologne [3]. En 2004, les Etats baltes l'ont rejointe.", (3,)),
        ("Les trains de nuit reviennent en Europe. La ligne Paris-Vienne rouvre en 2021.", ()),
    ]
    body = tuple(Paragraph(id=f"art:p{i}", doc_id="art", text=t, n=i, section="I. Partie", footnotes=f,
                           calls=tuple(NoteCall(int(m.group(1)), m.start(), m.end())
                                       for m in re.finditer(r"\[(\d+)\]", t)))
                 for i, (t, f) in enumerate(texts, start=1))
    return Document(id="art", title=title, source="art.txt", authors=(author,), date="2020-01-02",
                    site="Exemple.fr", paragraphs=body,
                    footnotes=(Footnote(3, "Traité, https://ex.org/otan", "https://ex.org/otan"),))


def _quote(p: Paragraph, quote: str) -> Span:
    at = p.text.index(quote)
    return Span(p.id, at, at + len(quote), quote)


def _answer(doc: Document, question: str = "Quels pays ont rejoint l'OTAN en 1999 ?", lang: str = "fr") -> Answer:
    p = doc.paragraphs[1]
    span = _quote(p, "L'OTAN s'est étendue en 1999 à la Pologne [3].")
    cit = Citation(marker=1, passage=p, document=doc, quote=span.text, footnotes=(doc.footnote(3),), spans=(span,))
    claim = Claim(span.text, (span,), (1,), Attribution(doc.authors[0], "author"))
    hits = (Hit(1, p, 0.03, 0.91, 7.5, span.text), Hit(2, doc.paragraphs[2], 0.02, 0.7, 1.25, "Les trains de nuit."))
    return Answer(question=question, status="answered", language=lang, claims=(claim,), citations=(cit,), hits=hits)


def _abstention(doc: Document, lang: str = "en") -> Answer:
    hits = (Hit(1, doc.paragraphs[2], 0.01, 0.5, 0.0, "Les trains de nuit reviennent en Europe."),)
    return Answer(question="What is the price of tomatoes in Lima?", status="abstained", language=lang, hits=hits)


def test_answer_has_clickable_markers_and_a_source_entry():
    doc = _doc()
    html = render_answer(_answer(doc), 2, {doc.id: doc})
    # the answer's marker is a link that opens source 1 of turn 2
    assert re.search(r'<sup class="rv-ref"><a class="rv-marker" href="#rv-2-1"[^>]*>\[1\]</a></sup>', html)
    # the note reference inside the verbatim quote stays text, not a second marker
    assert html.count('class="rv-marker"') == 1 and "la Pologne [3]." in html
    source = re.search(r'<li class="rv-source".*?</li></ul></li>', html).group(0)
    for expected in ("[1]", "Géographies", "Jeanne Martin", "2020-01-02", "I. Partie", "¶ 2", "note 3"):
        assert expected in source, expected
    # the quote is shown once, in the claim, not again under the sources
    assert html.count("L&#x27;OTAN s&#x27;est étendue en 1999") == 1 and "rv-src-quote" not in html
    assert 'href="#rv-2-1"' in source  # the entry opens the same source
    assert "\n" not in html, "a newline would let the chat read document text as Markdown"


def test_an_english_answer_line_gets_its_marker_and_english_punctuation():
    doc = _doc()
    a = _answer(doc, question="Which countries joined NATO in 1999?", lang="en")
    html = render_answer(a, 1, {doc.id: doc})
    assert '<span class="rv-who">Jeanne Martin writes</span>: « ' in html
    assert html.count('class="rv-marker"') == 1 and "rv-extra" not in html


def test_footnote_urls_open_in_a_new_tab_and_unsafe_urls_are_not_links():
    doc = _doc()
    html = render_answer(_answer(doc), 1, {doc.id: doc})
    assert '<a href="https://ex.org/otan" target="_blank" rel="noopener noreferrer">https://ex.org/otan</a>' in html
    assert html.count("https://ex.org/otan") == 2  # the URL inside the note's text is the link itself
    bad = Footnote(4, "voir", "javascript:alert(1)")
    doc2 = Document(**{**doc.__dict__, "footnotes": (bad,)})
    a = _answer(doc2)
    a = Answer(**{**a.__dict__, "citations": (Citation(**{**a.citations[0].__dict__, "footnotes": (bad,)}),)})
    html2 = render_answer(a, 1, {doc2.id: doc2})
    assert 'href="javascript' not in html2
    assert safe_url("javascript:alert(1)") is None and safe_url("data:text/html,x") is None
    assert safe_url("https://ex.org/a?b=1") == "https://ex.org/a?b=1"
    assert safe_url('https://ex.org/"onmouseover="x') is None


def test_document_text_is_escaped_everywhere():
    doc = _doc(title=f"Titre {EVIL}", author=f"Auteur {EVIL}")
    p = Paragraph(id="art:p2", doc_id="art", text=f"Texte {EVIL} et <a href=\"javascript:alert(1)\">lien</a>.",
                  n=2, section=f"Section {EVIL}")
    doc = Document(**{**doc.__dict__, "paragraphs": (doc.paragraphs[0], p, doc.paragraphs[2])})
    span = Span(p.id, 0, len(p.text), p.text)
    cit = Citation(marker=1, passage=p, document=doc, quote=p.text, spans=(span,))
    claim = Claim(p.text, (span,), (1,), Attribution(f"Auteur {EVIL}", "author"))
    a = Answer(question=f"Pourquoi {EVIL} ?", status="answered", language="fr", claims=(claim,),
               citations=(cit,), hits=(Hit(1, p, 0.1, 0.9, 1.0, p.text),))
    outputs = [
        render_answer(a, 1, {doc.id: doc}, show_hits=True),
        render_panel(p, doc, [(0, len(p.text))]),
        render_question(f"{EVIL} [clic](javascript:alert(1))"),
    ]
    for html in outputs:
        assert "<script" not in html
        assert 'href="javascript' not in html
        assert "&lt;script&gt;" in html


def test_question_is_shown_as_text():
    html = render_question("**gras** <b>x</b>\n\nsecond paragraph")
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "\n" not in html and "<br><br>" in html


def test_abstention_reads_as_one_and_sets_related_passages_apart():
    doc = _doc()
    a = _abstention(doc)
    html = render_answer(a, 3, {doc.id: doc})
    assert '<div class="rv-abstain" role="status">The documents do not answer this question.</div>' in html
    related = re.search(r'<div class="rv-related">.*</div>', html).group(0)
    assert "not cited" in related and "Les trains de nuit reviennent en Europe." in related
    assert 'href="#rv-3-r1"' in related
    assert "rv-marker" not in html and "rv-sources" not in html
    refs = source_refs(a, 3, {doc.id: doc})
    assert [(r.key, r.cited) for r in refs] == [("3-r1", False)]
    # in French, the labels follow the question's language
    fr = Answer(**{**a.__dict__, "question": "Quel est le prix des tomates à Lima ?", "language": "fr"})
    assert "non cités" in render_answer(fr, 1, {doc.id: doc})


def test_hits_table_lists_scores():
    doc = _doc()
    a = _answer(doc)
    assert "rv-hits" not in render_answer(a, 1, {doc.id: doc})
    html = render_answer(a, 1, {doc.id: doc}, show_hits=True)
    table = render_hits(a.hits, {doc.id: doc}, "fr")
    assert table in html and table.startswith('<details class="rv-hits">')
    assert "0.9100" in table and "7.500" in table and "0.0300" in table
    assert table.count("<tr>") == 3  # header + 2 hits


def test_panel_marks_the_quote_between_dimmed_neighbours():
    doc = _doc()
    p = doc.paragraphs[1]
    quote = _quote(p, "L'OTAN s'est étendue en 1999 à la Pologne [3].")
    html = render_panel(p, doc, [(quote.start, quote.end)], marker="[1]")
    assert "<mark>L&#x27;OTAN s&#x27;est étendue en 1999 à la Pologne [3].</mark>" in html
    assert html.index("Géographies") < html.index("I. Partie, ¶ 2") < html.index("rv-before")
    before = re.search(r'<p class="rv-context rv-before">(.*?)</p>', html).group(1)
    after = re.search(r'<p class="rv-context rv-after">(.*?)</p>', html).group(1)
    assert "glacier du Rhône" in before and "trains de nuit" in after
    assert html.index("rv-before") < html.index("<mark>") < html.index("rv-after")
    assert 'target="_blank" rel="noopener noreferrer"' in html  # the paragraph's note
    # the first paragraph has no paragraph before it
    first = render_panel(doc.paragraphs[0], doc, [(0, 10)])
    assert "rv-before" not in first and "rv-after" in first
    assert neighbours(doc.paragraphs[2], doc) == (doc.paragraphs[1], None)
    # a passage outside the body (metadata card) has no neighbours
    card = Paragraph(id="art:meta", doc_id="art", text="Fiche.", kind="meta")
    assert neighbours(card, doc) == (None, None)
    assert "rv-context" not in render_panel(card, doc, [(0, 6)])


def test_highlight_marks_the_quoted_spans_by_their_offsets():
    text = "Une phrase.  Deux\nphrases <b>ici</b>. Trois."
    html = highlight(text, [(0, 11), (13, 37)])
    assert html.count("<mark>") == 2
    assert "<mark>Deux<br>phrases &lt;b&gt;ici&lt;/b&gt;.</mark>" in html
    assert highlight("abc", []) == "abc"
    assert highlight("a b c d", [(0, 5), (2, 7)]).count("</mark>") == 2  # overlap: no nesting
    assert "<mark><mark>" not in highlight("a b c d", [(0, 5), (2, 7)])


def test_related_passage_in_panel_is_labelled_not_cited():
    doc = _doc()
    html = render_panel(doc.paragraphs[2], doc, [(0, 40)], cited=False)
    assert "not cited" in html and '<mark class="rv-mark-related">' in html


def test_linkify_and_source_keys():
    assert linkify("voir https://ex.org/a. Fin") == (
        'voir <a href="https://ex.org/a" target="_blank" rel="noopener noreferrer">https://ex.org/a</a>. Fin')
    assert "<a" not in linkify("javascript:alert(1)")
    assert parse_source_key("#rv-2-1") == "2-1"
    assert parse_source_key("rv-12-r3|1700000000000") == "12-r3"
    assert parse_source_key("2-1") == "2-1"
    for bad in ("", "rv-x-1", "2-1-3", "<script>"):
        assert parse_source_key(bad) is None


@pytest.mark.parametrize("kind", ["warning"])
def test_unknown_notice_kind_is_rejected(kind):
    from rag.render.html import render_notice

    with pytest.raises(ValueError, match="allowed: error, info"):
        render_notice("x", kind)


def test_a_generated_answer_is_prose_with_markers_and_its_quotes_under_sources():
    doc = _doc()
    p = doc.paragraphs[2]
    span = _quote(p, "La ligne Paris-Vienne rouvre en 2021.")
    cit = Citation(1, p, doc, span.text, spans=(span,))
    claims = (Claim("The Paris-Vienna line reopens in 2021.", (span,), (1,), quoted=False),
              Claim("Prices are unknown.", (), (), quoted=False, support="unsupported"))
    a = Answer(question="When?", status="answered", language="en", claims=claims, citations=(cit,),
               composer="generative", dropped=("not supported by [2]: x",))
    html = render_answer(a, 4, {doc.id: doc})
    assert "Written by a language model" in html
    assert re.search(r"reopens in 2021 <sup class=\"rv-ref\"><a class=\"rv-marker\" href=\"#rv-4-1\"", html)
    assert '<sup class="rv-ref rv-unsupported">[?]</sup>' in html
    assert "« La ligne Paris-Vienne rouvre en 2021. »" in html  # the model's words are not the quote
    assert "Removed by the citation check (1)" in html


def test_a_fallback_says_so_in_the_answers_language():
    doc = _doc()
    a = Answer(**{**_answer(doc).__dict__, "composer": "extractive-fallback"})
    assert "aucune citation vérifiable" in render_answer(a, 1, {doc.id: doc})
