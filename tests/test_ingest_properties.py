"""Property-based tests of ingestion (hypothesis): nothing crashes, nothing is lost or doubled.

The precise claim: for an article-like document -- paragraphs of full sentences on one
topic, long enough to be prose, with headings, footnote markers, notes, blank lines,
hard wrapping, odd Unicode and paragraphs cut in two by a page break -- every body
paragraph ends up in exactly one citable passage, whole (a paragraph cut by a page
break comes back as one), with its footnote markers recorded, and nothing else
becomes a passage. Short or off-topic blocks are the furniture classifier's to judge,
so they are not generated here. For arbitrary text and bytes, ingestion returns a
document or raises `IngestError`, never anything else.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest import IngestError, citable_passages, ingest_paths, parse_document

# One topic: glaciers and climate. Content words are lowercase so that no run of
# capitalised words reads as a name (bylines, biographies, interview speakers).
TOPIC = (
    "glacier glaciers glace fonte neige climat température températures hiver été montagne vallée "
    "relevés mesures masse épaisseur langue moraine chercheurs glaciologues réchauffement émissions "
    "siècle décennie saison eau rivière barrage touristes station altitude pente névé sommet"
).split()
VERBS = "recule fond perd mesure observe dépasse menace alimente nourrit modifie".split()
STOPWORDS = "le la les de des du et dans sur pour avec que qui une un son sa leur plus".split()
# Things real articles hold: non-breaking and narrow spaces, decomposed accents, zero-width
# characters, emoji, words in other scripts.
ODD = ["\u00a0", "\u202f", "e\u0301t\u00e9", "z\u200bone", "🏔️", "🌍", "冰川", "جليد", "ﬁn", "\u2009", "½", "Ωmega"]
HEADING_WORDS = "Le recul des glaciers alpins La fonte estivale Une montagne qui change Les mesures".split()


def norm(text: str) -> str:
    """Text compared without caring about Unicode normal form or whitespace runs."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@st.composite
def sentence(draw, serial: int) -> str:
    n = draw(st.integers(8, 14))
    words = []
    for i in range(n):
        pool = STOPWORDS if i % 2 == 0 else TOPIC
        words.append(draw(st.sampled_from(pool)))
    words.insert(draw(st.integers(2, n - 1)), draw(st.sampled_from(VERBS)))
    if draw(st.integers(0, 4)) == 0:  # an odd token now and then
        words.insert(draw(st.integers(1, len(words))), draw(st.sampled_from(ODD)))
    # the year makes every sentence unique, so that none is a copy or a pull quote of another
    words.insert(draw(st.integers(1, len(words))), f"en {1500 + serial}")
    text = " ".join(words)
    return text[0].upper() + text[1:] + draw(st.sampled_from([".", ".", ".", " !", " ?", "…"]))


@st.composite
def article(draw) -> tuple[str, list[str], dict[int, tuple[int, ...]]]:
    """(markdown text, the expected body paragraphs, their footnote markers by paragraph)."""
    n_paragraphs = draw(st.integers(3, 8))
    serial = 0
    paragraphs: list[str] = []
    markers: dict[int, tuple[int, ...]] = {}
    next_note = 1
    for k in range(n_paragraphs):
        sentences = []
        for _ in range(draw(st.integers(3, 5))):
            s = draw(sentence(serial))
            serial += 1
            if draw(st.integers(0, 3)) == 0:  # a note call, plain or in markdown's own syntax
                call = draw(st.sampled_from(["[{}]", "[^{}]"])).format(next_note)
                body, end = re.fullmatch(r"(.*?)(\s?[.!?…])", s).groups()
                s = f"{body} {call}{end}"  # before the final punctuation, as typography wants it
                markers.setdefault(k, ())
                markers[k] += (next_note,)
                next_note += 1
            sentences.append(s)
        paragraphs.append(" ".join(sentences))

    blocks: list[str] = []
    titled = draw(st.booleans())
    if titled:
        blocks.append("# " + " ".join(draw(st.lists(st.sampled_from(TOPIC), min_size=4, max_size=8))).capitalize())
    if draw(st.booleans()):
        blocks.append("Par Jeanne Martin, 2 janvier 2020")
    wrap = draw(st.sampled_from([None, 60, 72]))
    for k, p in enumerate(paragraphs):
        if k and draw(st.integers(0, 3)) == 0:
            blocks.append("## " + " ".join(draw(st.lists(st.sampled_from(HEADING_WORDS), min_size=2, max_size=5))))
        if k == 0 and not titled and not p.endswith("."):
            # with no title line, a first block that ends without a full stop reads as the headline
            p = paragraphs[0] = p + " Fin de la première partie en 1499."
        words = p.split(" ")
        # a page break: the paragraph cut after a word that ends no sentence, before a lowercase word,
        # after the cut sentence's year and before another year, so that each part holds a year
        # (a year-less fragment of random words could repeat an earlier sentence, as a pull quote does)
        cuts = [i for i in range(12, len(words)) if words[i][:1].islower() and not re.search(r"[.!?…\]]$", words[i - 1])
                and _year_since_sentence_start(words, i) and any(re.fullmatch(r"1\d{3}", w) for w in words[i:])]
        if cuts and (k or titled) and draw(st.integers(0, 3)) == 0:
            i = draw(st.sampled_from(cuts))
            parts = [" ".join(words[:i]), " ".join(words[i:])]
        else:
            parts = [p]
        for part in parts:
            blocks.append(_wrap(part, wrap) if wrap else part)
    if next_note > 1:
        blocks.append("## Notes")
        blocks.extend(f"[{n}]: Relevés glaciologiques, rapport {n}, https://example.org/rapport/{n}" for n in range(1, next_note))
    gaps = [draw(st.sampled_from(["\n\n", "\n\n\n", "\n \n", "\n\t\n\n"])) for _ in blocks]
    text = "".join(b + g for b, g in zip(blocks, gaps))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    expected = [p.replace("[^", "[") for p in paragraphs]
    return text, expected, markers


def _year_since_sentence_start(words: list[str], i: int) -> bool:
    """Whether the sentence that word `i` falls in has its year before word `i`."""
    j = i
    while j > 0 and not re.search(r"[.!?…]$", words[j - 1]):
        j -= 1
    return any(re.fullmatch(r"1\d{3}", w) for w in words[j:i])


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(article())
def test_every_article_paragraph_ends_up_in_exactly_one_passage(doc):
    text, expected, markers = doc
    document = parse_document(Path("article.md"), text)
    passages = citable_passages(document)
    content = [p for p in passages if p.kind != "meta"]
    for k, paragraph in enumerate(expected):
        holders = [p for p in passages if norm(paragraph) in norm(p.text)]
        assert len(holders) == 1, (k, paragraph, [p.text for p in passages])
        assert norm(holders[0].text) == norm(paragraph), "the paragraph is whole, and alone"
        assert holders[0].footnotes == markers.get(k, ())
    assert len(content) == len(expected), [p.text for p in content]
    assert sorted(f.number for f in document.footnotes) == sorted(n for ns in markers.values() for n in ns)


# ---------------------------------------------------------------- never a crash

LINES = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", " ", "#", "# Titre", "## Notes", "[1]: https://example.org", "[^2]", "> cité", "- item",
                     "***", "Par Jeanne Martin, 2 janvier 2020", "Commentaires", "Q : question ?", "R : réponse.",
                     "<script>alert(1)</script>", "[lien](javascript:alert(1))", "\x00", "\ufeff", "\u202e", "🏔️"]),
    st.builds(lambda s: s * 30, st.sampled_from(["mot ", "Le glacier fond. ", "[3] "])),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=30), st.sampled_from([".md", ".txt", ".html"]))
def test_arbitrary_text_gives_a_document_or_an_ingest_error(lines, suffix):
    text = "\n".join(lines)
    if suffix == ".html":
        text = "<html><body>" + "".join(f"<p>{line}</p>" for line in lines) + "</body></html>"
    try:
        document = parse_document(Path("x" + suffix), text)
    except IngestError as e:
        assert "\n" not in str(e)
        return
    assert document.paragraphs, "a document always has a body"
    ids = [p.id for p in citable_passages(document)]
    assert len(ids) == len(set(ids))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000), st.sampled_from([".md", ".txt", ".html"]))
def test_arbitrary_bytes_are_read_or_reported(tmp_path, data, suffix):
    path = tmp_path / f"file{suffix}"
    path.write_bytes(data)
    corpus = ingest_paths([path])
    assert len(corpus.documents) + len(corpus.issues) >= 1
    assert all("\n" not in issue.message for issue in corpus.issues)
