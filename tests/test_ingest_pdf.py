"""The PDF reader (rag.ingest.pdf): PDFs with a text layer, written by hand in each test.

`make_pdf` writes a minimal PDF: standard fonts (Helvetica, Helvetica-Bold,
Courier), one text object per line at a given position, superscripts by
text rise, an Info dictionary. That is what a typesetter leaves in a file:
glyphs at positions, no structure; the reader rebuilds it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest import IngestError, citable_passages, ingest_file, ingest_paths
from rag.ingest.pdf import read_pdf

# ----------------------------------------------------------------------------- a tiny PDF writer

FONTS = {"R": "Helvetica", "B": "Helvetica-Bold", "M": "Courier", "X": "Helvetica"}
# "X" is Helvetica whose codes 128 and 129 are the soft hyphen (U+00AD) and the hyphen U+2010.
SOFT, HYPHEN = "\x80", "\x81"
BOM = "\ufeff"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def line(x: float, y: float, *runs, size: float = 11, font: str = "R") -> tuple:
    """A line of text at (x, y) (PDF points from the bottom left): plain strings in the line's
    font and size, or (text, font, size, rise) tuples (rise > 0: a superscript)."""
    return (x, y, [(r, font, size, 0) if isinstance(r, str) else r for r in runs])


def make_pdf(pages: list[list[tuple]], info: dict[str, str] | None = None, shapes: list[str] | None = None,
             width: float = 612, height: float = 792) -> bytes:  # fmt: skip
    objects: list[bytes] = []

    def add(body: str | bytes) -> int:
        objects.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(objects)

    catalog = add("")  # filled in below
    pages_obj = add("")
    font_ids = {}
    for key, base in FONTS.items():
        enc = "/WinAnsiEncoding" if key != "X" else "<< /Type /Encoding /BaseEncoding /WinAnsiEncoding " \
                                                   "/Differences [128 /uni00AD /uni2010] >>"  # fmt: skip
        font_ids[key] = add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding {enc} >>")
    fonts = " ".join(f"/F{k} {i} 0 R" for k, i in font_ids.items())
    kids = []
    for n, lines in enumerate(pages):
        ops = []
        for x, y, runs in lines:
            ops.append(f"BT {x:.2f} {y:.2f} Td")
            for text, font, size, rise in runs:
                ops.append(f"/F{font} {size} Tf {rise} Ts ({_escape(text)}) Tj")
            ops.append("ET")
        if shapes and n < len(shapes):
            ops.append(shapes[n])
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 {width} {height}] "
                        f"/Resources << /Font << {fonts} >> >> /Contents {content} 0 R >>"))  # fmt: skip
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_obj} 0 R >>".encode()
    objects[pages_obj - 1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    # Info strings as PDF text strings in UTF-16 (with a byte-order mark)
    utf16 = lambda v: (BOM + v).encode("utf-16-be").hex()  # noqa: E731
    info_id = add("<< " + " ".join(f"/{k} <{utf16(v)}>" for k, v in (info or {}).items()) + " >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, catalog, info_id, xref)
    return bytes(out)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def lines_from(x: float, y: float, texts: list[str], leading: float = 14, **kw) -> list[tuple]:
    return [line(x, y - k * leading, t, **kw) for k, t in enumerate(texts)]


# ----------------------------------------------------------------------------- a two-page report

HEADER = "Proceedings of the Harbour Society, spring meeting"


def report_pdf() -> bytes:
    sup = ("1", "R", 7, 4)
    page1 = [
        line(72, 760, HEADER, size=9),
        line(72, 715, "Tides and Trade", size=18, font="B"),
        line(72, 680, "The harbour society met in spring to review the tides and the trade of the"),
        line(72, 666, "season. Members agreed that the new pier", sup, " had changed the habits of the"),
        line(72, 652, "fishermen, who now land their catch at dawn."),
        *lines_from(72, 628, [
            "A second matter concerned the lighthouse keeper, whose long commit-",
            "ment to the light was praised by all present, and the accounts of the",
            "year were read aloud by the treasurer, who noted that the costs of",
        ]),
        line(72, 80, "1 The pier was opened in May; see https://example.org/pier for the plans.", size=8),
        line(300, 40, "1", size=9),
    ]
    page2 = [
        line(72, 760, HEADER, size=9),
        line(72, 715, "repairs had doubled since the storm of the previous winter."),
        line(72, 685, "Accounts", size=13, font="B"),
        line(72, 660, "The treasurer's commitment to careful records was noted, and the meeting closed."),
        line(300, 40, "2", size=9),
    ]
    info = {"Title": "Tides and Trade", "Author": "Ada Lovelace", "CreationDate": "D:20240315093000+01'00'"}
    return make_pdf([page1, page2], info)


def test_two_page_report_paragraphs_notes_header_and_pages(tmp_path):
    path = write(tmp_path, "report.pdf", report_pdf())
    doc = ingest_file(path)
    texts = [p.text for p in doc.paragraphs]
    assert doc.format == "pdf" and doc.title == "Tides and Trade"
    # paragraphs whole: lines joined, the hyphenated word mended (the document writes it whole elsewhere),
    # the paragraph cut by the page break joined with its continuation
    assert texts[0] == ("The harbour society met in spring to review the tides and the trade of the season. Members "
                        "agreed that the new pier[1] had changed the habits of the fishermen, who now land their "
                        "catch at dawn.")  # fmt: skip
    assert texts[1] == ("A second matter concerned the lighthouse keeper, whose long commitment to the light was "
                        "praised by all present, and the accounts of the year were read aloud by the treasurer, who "
                        "noted that the costs of repairs had doubled since the storm of the previous winter.")  # fmt: skip
    assert texts[2].startswith("The treasurer's commitment")
    # pages: where each passage starts
    assert [p.page for p in doc.paragraphs] == [1, 1, 2]
    assert [s.title for s in doc.sections] == ["Accounts"] and doc.paragraphs[2].section == "Accounts"
    # the note: linked to its call, with its address
    [note] = doc.footnotes
    assert (note.number, note.url) == (1, "https://example.org/pier")
    assert note.text == "The pier was opened in May; see https://example.org/pier for the plans."
    [call] = doc.paragraphs[0].calls
    assert doc.paragraphs[0].footnotes == (1,) and texts[0][call.start:call.end] == "[1]"
    # furniture gone, each removal with its reason
    everything = " ".join(p.text for p in citable_passages(doc))
    assert "Harbour Society" not in everything and not re.search(r"(^|\s)[12](\s|$)", " ".join(texts))
    reasons = {d.text: d.reason for d in doc.dropped}
    assert reasons[HEADER].startswith("running header")
    assert "page number" in reasons["1"] and "page number" in reasons["2"]
    # metadata from the Info dictionary
    assert doc.authors == ("Ada Lovelace",) and doc.date == "2024-03-15"


def test_pdf_in_a_folder_is_ingested_with_the_others(tmp_path):
    write(tmp_path, "report.pdf", report_pdf())
    (tmp_path / "note.txt").write_text("Un texte.\n\nUn paragraphe de texte assez long pour compter ici.\n",
                                       encoding="utf-8")
    corpus = ingest_paths([tmp_path])
    assert sorted(d.id for d in corpus.documents) == ["note", "report"]
    assert not [i for i in corpus.issues if i.path.endswith(".pdf")]


# ----------------------------------------------------------------------------- files that cannot be read


def test_pdf_without_text_layer_is_a_one_line_error(tmp_path):
    # a page with only a drawing on it, as a scanner's image would be
    path = write(tmp_path, "scan.pdf", make_pdf([[]], shapes=["72 72 400 600 re f"]))
    with pytest.raises(IngestError) as e:
        ingest_file(path)
    assert str(e.value) == f"{path}: no text layer (a scanned PDF?)"
    corpus = ingest_paths([tmp_path])
    assert corpus.documents == () and [i.message for i in corpus.issues] == ["no text layer (a scanned PDF?)"]


def test_damaged_and_encrypted_pdfs_are_one_line_errors(tmp_path):
    broken = write(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n")
    with pytest.raises(IngestError, match=r"broken\.pdf: not a readable PDF") as e:
        read_pdf(broken)
    assert "\n" not in str(e.value)
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=write(tmp_path, "plain.pdf", report_pdf()))
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as f:
        writer.write(f)
    with pytest.raises(IngestError, match=r"locked\.pdf: encrypted PDF \(it needs a password\)$"):
        read_pdf(locked)


# ----------------------------------------------------------------------------- layout


PROSE = ("Rivers carry the silt of the mountains down to the plain where farmers have long relied on the "
         "floods to renew their fields and the towns along the banks grew rich on the trade that the "
         "water made possible for many centuries before the railways came and changed the old routes "
         "of the valley for good").split()  # fmt: skip


def _wrap(words: list[str], width: int) -> list[str]:
    out, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return out + [cur]


def test_two_columns_are_read_column_by_column(tmp_path):
    left = _wrap(PROSE, 38)  # one paragraph, its end continued at the top of the right column
    cut = len(left) - 2
    right_first = left[cut:]
    right_second = _wrap(("Later the river was tamed by dams and the floods became rare so that the fields "
                          "needed other care.").split(), 38)  # fmt: skip
    page = [line(72, 740, "The River and the Plain", size=18, font="B")]
    page += lines_from(72, 700, left[:cut], size=10, leading=12)
    page += lines_from(320, 700, right_first, size=10, leading=12)
    page += lines_from(320, 700 - 12 * len(right_first) - 10, right_second, size=10, leading=12)
    doc = ingest_file(write(tmp_path, "columns.pdf", make_pdf([page])))
    assert [p.text for p in doc.paragraphs] == [" ".join(PROSE), " ".join(right_second)]


def test_hyphens_at_line_ends(tmp_path):
    page = [
        line(72, 700, "Compound words such as long-term stay whole, so a long-"),
        line(72, 686, "term plan keeps its hyphen; a soft hyphen is a break: inter" + SOFT, font="X"),
        line(72, 672, "national; a hyphen that breaks a word written whole elsewhere goes: trans" + HYPHEN, font="X"),
        line(72, 658, "formation (a transformation); a Build-"),
        line(72, 644, "Depends field stays one word, as does http://example.org/a/"),
        line(72, 630, "b/c.html here."),
    ]
    doc = ingest_file(write(tmp_path, "hyphens.pdf", make_pdf([page])))
    [p] = doc.paragraphs
    assert p.text == ("Compound words such as long-term stay whole, so a long-term plan keeps its hyphen; a soft "
                      "hyphen is a break: international; a hyphen that breaks a word written whole elsewhere goes: "
                      "transformation (a transformation); a Build-Depends field stays one word, as does "
                      "http://example.org/a/b/c.html here.")  # fmt: skip


# ----------------------------------------------------------------------------- apparatus and structure


def test_endnotes_contents_table_and_code(tmp_path):
    call = lambda n: (f"[{n}]", "R", 8, 4)  # noqa: E731 - a call printed raised, as DocBook prints it
    grid = " ".join(f"72 {y} 300 0.5 re f" for y in (352, 334, 316, 298)) + " " + \
        " ".join(f"{x} 298 0.5 54.5 re f" for x in (72, 186, 372))  # fmt: skip
    page1 = [
        line(72, 740, "Packaging Notes", size=20, font="B"),
        line(72, 710, "Contents", font="B"),
        line(72, 692, "1. Building"),
        line(72, 678, "2. Uploading"),
        line(72, 650, "1. Building", size=15, font="B"),
        line(72, 625, "Build the package with the usual tools", call(1), " before anything else, then check"),
        line(72, 611, "the result carefully:"),
        line(90, 590, "$ debuild -us -uc", size=9, font="M"),
        line(90, 579, "  --lintian-opts -i", size=9, font="M"),
        line(72, 555, "The archive expects these fields:"),
        line(76, 340, "Field", font="B"), line(190, 340, "Meaning", font="B"),
        line(76, 322, "Source"), line(190, 322, "name of the source package"),
        line(76, 304, "Version"), line(190, 304, "upstream and Debian revision"),
        line(72, 270, "2. Uploading", size=15, font="B"),
        line(72, 245, "Upload with dput", call(2), " once the checks pass."),
        line(72, 200, "[1] See the guide at https://example.org/guide for the details."),
        line(72, 180, "[2] Or dupload, which works the same way."),
    ]
    info = {"Title": "Packaging Notes \u2014 Example Manuals"}
    doc = ingest_file(write(tmp_path, "notes.pdf", make_pdf([page1], info, shapes=[grid])))
    assert (doc.title, doc.site) == ("Packaging Notes", "Example Manuals")
    assert [s.title for s in doc.sections] == ["1. Building", "2. Uploading"]
    texts = [p.text for p in doc.paragraphs]
    # the table of contents is left out, with its title, and says why
    assert not any(t.startswith("1. Building 2. Uploading") for t in texts)
    assert {d.reason for d in doc.dropped} >= {"table of contents (its entries repeat the headings that follow)",
                                               "title of the table of contents"}  # fmt: skip
    # calls and endnotes
    assert texts[0] == "Build the package with the usual tools[1] before anything else, then check the result carefully:"
    assert [(f.number, f.url) for f in doc.footnotes] == [(1, "https://example.org/guide"), (2, None)]
    assert doc.footnotes[1].text == "Or dupload, which works the same way."
    assert any(p.footnotes == (2,) and p.text == "Upload with dput[2] once the checks pass." for p in doc.paragraphs)
    # code verbatim, its indentation kept
    assert "$ debuild -us -uc\n  --lintian-opts -i" in texts
    # table rows, cells joined, with the header as their context
    rows = [p for p in doc.paragraphs if " | " in p.text]
    assert [(p.text, p.context) for p in rows] == [("Source | name of the source package", "Field | Meaning"),
                                                   ("Version | upstream and Debian revision", "Field | Meaning")]
    assert all(p.page == 1 for p in doc.paragraphs)
