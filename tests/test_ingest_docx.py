"""Word documents (.docx): body in order, real footnotes and endnotes linked to their calls,
lists with their lead-in, table rows with their header, metadata, and bad files.

Every document is built here with python-docx; notes, tracked changes, fields and
breaks are written into the XML where python-docx has no API for them."""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part as OpcPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn

from rag.ingest import IngestError, citable_passages, ingest_file, ingest_paths
from rag.ingest.docx import read_docx
from rag.records import Dropped

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# --------------------------------------------------------------------------- helpers


def add_note_call(paragraph, note_id: int, kind: str = "footnote") -> None:
    """A run holding a footnote (or endnote) reference, as Word writes it."""
    run = paragraph.add_run()
    run.style = None
    ref = OxmlElement(f"w:{kind}Reference")
    ref.set(qn("w:id"), str(note_id))
    run._r.append(ref)


def add_notes(document, notes: dict[int, str], kind: str = "footnote", links: dict[int, str] | None = None) -> None:
    """Write word/footnotes.xml (or endnotes.xml) holding `notes` (id -> text), related to the document.

    `links` gives a note a hyperlink (id -> URL) wrapped around its last word."""
    links = links or {}
    part_rels: dict[int, str] = {}
    body = [f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>',
            f'<w:{kind} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p>'
            f'</w:{kind}>']  # fmt: skip
    for nid, text in notes.items():
        runs = (f'<w:r><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr><w:{kind}Ref/></w:r>'
                '<w:r><w:t xml:space="preserve"> </w:t></w:r>')
        if nid in links:
            head, _, last = text.rpartition(" ")
            part_rels[nid] = f"rIdL{nid}"
            runs += (f'<w:r><w:t xml:space="preserve">{head} </w:t></w:r><w:hyperlink r:id="rIdL{nid}">'
                     f'<w:r><w:t>{last}</w:t></w:r></w:hyperlink>')  # fmt: skip
        else:
            runs += f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'
        body.append(f'<w:{kind} w:id="{nid}"><w:p><w:pPr><w:pStyle w:val="FootnoteText"/></w:pPr>{runs}</w:p>'
                    f'</w:{kind}>')
    xml = f'<w:{kind}s xmlns:w="{W_NS}" xmlns:r="{R_NS}">{"".join(body)}</w:{kind}s>'
    ct = CT.WML_FOOTNOTES if kind == "footnote" else CT.WML_ENDNOTES
    part = OpcPart(PackURI(f"/word/{kind}s.xml"), ct, xml.encode("utf-8"), document.part.package)
    for nid, rid in part_rels.items():
        part.rels.add_relationship(RT.HYPERLINK, links[nid], rid, is_external=True)
    document.part.relate_to(part, RT.FOOTNOTES if kind == "footnote" else RT.ENDNOTES)


def raw_paragraph(document, inner_xml: str, style: str | None = None):
    """A paragraph with hand-written runs (tracked changes, fields, breaks)."""
    p = document.add_paragraph(style=style)
    for el in parse_xml(f'<w:p xmlns:w="{W_NS}" xmlns:r="{R_NS}">{inner_xml}</w:p>'):
        p._p.append(el)
    return p


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def one(doc, fragment: str):
    found = [p for p in doc.paragraphs if fragment in p.text]
    assert len(found) == 1, (fragment, texts(doc))
    return found[0]


# --------------------------------------------------------------------------- notes


def test_two_real_footnotes_are_called_at_their_place_and_linked(tmp_path):
    d = docx.Document()
    d.add_heading("Glaciers des Alpes", level=1)
    p = d.add_paragraph("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900")
    add_note_call(p, 7)
    p.add_run(", selon les relevés suisses.")
    q = d.add_paragraph("Les bâches blanches ralentissent la fonte de la grotte de glace.")
    add_note_call(q, 3)
    add_notes(d, {3: "Voir le rapport GLAMOS sur https://example.org/glamos",
                  7: "Relevés de 1900 à 2020 sur le site"}, links={7: "https://example.org/releves"})
    path = tmp_path / "glaciers.docx"
    d.save(path)

    doc = ingest_file(path)
    # Word numbers notes in the order of their calls, whatever their ids in footnotes.xml
    first = one(doc, "perdu un tiers")
    assert first.text == "Le glacier du Rhône a perdu un tiers de sa masse depuis 1900[1], selon les relevés suisses."
    assert first.footnotes == (1,)
    assert first.text[first.calls[0].start:first.calls[0].end] == "[1]"
    second = one(doc, "bâches")
    assert second.text.endswith("grotte de glace.[2]") and second.footnotes == (2,)
    notes = {f.number: f for f in doc.footnotes}
    assert set(notes) == {1, 2}
    assert notes[1].text == "Relevés de 1900 à 2020 sur le site" and notes[1].url == "https://example.org/releves"
    assert notes[2].text.startswith("Voir le rapport GLAMOS") and notes[2].url == "https://example.org/glamos"


def test_footnotes_and_endnotes_get_unique_numbers(tmp_path):
    d = docx.Document()
    p = d.add_paragraph("A first claim that needs a source")
    add_note_call(p, 2, "endnote")
    p.add_run(" and a second one")
    add_note_call(p, 5)
    p.add_run(" and a third one")
    add_note_call(p, 6)
    p.add_run(".")
    add_notes(d, {5: "Footnote one.", 6: "Footnote two."})
    add_notes(d, {2: "Endnote one.", 9: "Endnote never called."}, kind="endnote")
    path = tmp_path / "notes.docx"
    d.save(path)

    parsed = read_docx(path)
    (part,) = [x for x in parsed.parts if x.kind == "paragraph"]
    # footnotes keep Word's numbers (1, 2); the endnote comes after them
    assert part.text == "A first claim that needs a source[3] and a second one[1] and a third one[2]."
    assert {f.number: f.text for f in parsed.notes} == {1: "Footnote one.", 2: "Footnote two.", 3: "Endnote one."}
    assert any(x.text == "Endnote never called." and "never calls" in x.reason for x in parsed.dropped)


# --------------------------------------------------------------------------- structure


def test_headings_give_sections_and_the_title(tmp_path):
    d = docx.Document()
    d.add_heading("Rapport sur les glaciers", level=0)  # the Title style
    d.add_heading("Mesures", level=1)
    d.add_paragraph("Les relevés annuels couvrent plus d'un siècle de mesures sur le terrain.")
    d.add_heading("Méthode", level=2)
    d.add_paragraph("Des balises plantées dans la glace donnent la fonte de chaque été.")
    d.add_heading("Perspectives", level=1)
    d.add_paragraph("La moitié des glaciers alpins aura disparu avant la fin du siècle.")
    path = tmp_path / "rapport.docx"
    d.save(path)

    doc = ingest_file(path)
    assert doc.title == "Rapport sur les glaciers"
    assert [s.title for s in doc.sections] == ["Mesures", "Méthode", "Perspectives"]
    assert one(doc, "balises").section == "Méthode"
    assert one(doc, "moitié").section == "Perspectives"
    parts = read_docx(path).parts
    assert [(p.text, p.level) for p in parts if p.kind == "heading"] == [
        ("Rapport sur les glaciers", 1), ("Mesures", 2), ("Méthode", 3), ("Perspectives", 2)]


def test_outline_level_makes_a_heading(tmp_path):
    d = docx.Document()
    p = d.add_paragraph("Une section sans style de titre")
    ppr = p._p.get_or_add_pPr()
    lvl = OxmlElement("w:outlineLvl")
    lvl.set(qn("w:val"), "1")
    ppr.append(lvl)
    d.add_paragraph("Le texte de la section, assez long pour être un vrai paragraphe de corps.")
    path = tmp_path / "outline.docx"
    d.save(path)
    assert [(x.kind, x.level) for x in read_docx(path).parts] == [("heading", 2), ("paragraph", 0)]


def test_list_items_carry_their_lead_in(tmp_path):
    d = docx.Document()
    d.add_paragraph("Le glacier recule depuis longtemps. Trois causes sont connues :")
    for item in ("la hausse des températures estivales ;", "la baisse de l'enneigement hivernal ;",
                 "les poussières qui noircissent la glace."):
        d.add_paragraph(item, style="List Bullet")
    d.add_paragraph("Un paragraphe après la liste, qui n'en fait pas partie.")
    d.add_paragraph("Une liste sans phrase d'introduction suit ce paragraphe")
    d.add_paragraph("premier point sans contexte", style="List Number")
    lead = d.add_paragraph("Les mesures se font ainsi :")
    add_note_call(lead, 1)
    add_notes(d, {1: "Protocole du réseau suisse."})
    d.add_paragraph("planter une balise dans la glace ;", style="List Bullet")
    d.add_paragraph("Par exemple une balise de bois de deux mètres.")  # inside the list
    d.add_paragraph("relever sa hauteur chaque automne.", style="List Bullet")
    d.add_heading("Une autre section", level=1)
    d.add_paragraph("une liste de la même numérotation, sans introduction", style="List Bullet")
    path = tmp_path / "listes.docx"
    d.save(path)

    doc = ingest_file(path)
    item = one(doc, "températures")
    assert item.text == "la hausse des températures estivales ;"
    assert item.context == "Trois causes sont connues :"
    assert one(doc, "poussières").context == "Trois causes sont connues :"
    assert one(doc, "après la liste").context is None
    assert one(doc, "premier point").context is None
    assert one(doc, "relever sa hauteur").context == "Les mesures se font ainsi :"
    assert one(doc, "même numérotation").context is None


def test_table_rows_with_their_header(tmp_path):
    d = docx.Document()
    d.add_paragraph("Les glaciers suivis et leur recul depuis 1900.")
    t = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("Glacier", "Canton", "Recul (m)"), ("Rhône", "Valais", "1400"),
                             ("Aletsch", "Valais", "3200")]):  # fmt: skip
        for c, value in enumerate(row):
            cell = t.cell(r, c)
            run = cell.paragraphs[0].add_run(value)
            run.bold = r == 0
    path = tmp_path / "table.docx"
    d.save(path)

    doc = ingest_file(path)
    row = one(doc, "Aletsch")
    assert row.text == "Aletsch | Valais | 3200"
    assert row.context == "Glacier | Canton | Recul (m)"
    assert one(doc, "Rhône").context == "Glacier | Canton | Recul (m)"


def test_table_without_header_row_has_no_context(tmp_path):
    d = docx.Document()
    t = d.add_table(rows=2, cols=2)
    for r, row in enumerate([("Rhône", "1400 mètres de recul"), ("Aletsch", "3200 mètres de recul")]):
        for c, value in enumerate(row):
            t.cell(r, c).text = value
    path = tmp_path / "plain-table.docx"
    d.save(path)
    rows = [p for p in read_docx(path).parts if p.kind == "row"]
    assert [(p.text, p.context) for p in rows] == [("Rhône | 1400 mètres de recul", None),
                                                   ("Aletsch | 3200 mètres de recul", None)]


def test_code_is_kept_verbatim(tmp_path):
    d = docx.Document()
    d.add_paragraph("Pour créer le paquet, lancez les commandes suivantes :")
    for line in ("$ cd ~/gentoo", "$ dh_make -f ../gentoo-0.9.12.tar.gz", "    --copyright gpl2"):
        p = d.add_paragraph()
        run = p.add_run(line)
        run.font.name = "Courier New"
    d.add_paragraph("Le paquet est alors prêt à être construit.")
    path = tmp_path / "code.docx"
    d.save(path)
    parts = read_docx(path).parts
    assert [p.kind for p in parts] == ["paragraph", "code", "paragraph"]
    assert parts[1].text == "$ cd ~/gentoo\n$ dh_make -f ../gentoo-0.9.12.tar.gz\n    --copyright gpl2"


# --------------------------------------------------------------------------- inline


def test_links_fields_tracked_changes_and_hidden_text(tmp_path):
    d = docx.Document()
    rid = d.part.relate_to("https://example.org/glamos", RT.HYPERLINK, is_external=True)
    raw_paragraph(d, (
        '<w:r><w:t xml:space="preserve">Les relevés du </w:t></w:r>'
        f'<w:hyperlink r:id="{rid}"><w:r><w:t>réseau GLAMOS</w:t></w:r></w:hyperlink>'
        '<w:r><w:t xml:space="preserve"> montrent une perte </w:t></w:r>'
        '<w:del w:id="1" w:author="A"><w:r><w:delText>faible</w:delText></w:r></w:del>'
        '<w:ins w:id="2" w:author="A"><w:r><w:t>record</w:t></w:r></w:ins>'
        '<w:r><w:rPr><w:vanish/></w:rPr><w:t xml:space="preserve"> (note cachée)</w:t></w:r>'
        '<w:r><w:t xml:space="preserve"> en </w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> DATE \\@ "yyyy" </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>2022</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        '<w:r><w:t>, selon l’étude.</w:t></w:r>'
    ))  # fmt: skip
    # a paragraph mark deleted with tracked changes: the two paragraphs are one
    raw_paragraph(d, '<w:pPr><w:rPr><w:del w:id="3" w:author="A"/></w:rPr></w:pPr>'
                     '<w:r><w:t>Le recul atteint 1400 mètres</w:t></w:r>')
    d.add_paragraph("depuis le début des relevés.")
    path = tmp_path / "inline.docx"
    d.save(path)
    parsed = read_docx(path)
    assert [p.text for p in parsed.parts] == [
        "Les relevés du réseau GLAMOS montrent une perte record en 2022, selon l’étude.",
        "Le recul atteint 1400 mètres depuis le début des relevés.",
    ]
    reasons = {x.text: x.reason for x in parsed.dropped}
    assert reasons.get("faible") == "tracked deletion"
    assert reasons.get("(note cachée)") == "hidden text"


def test_a_word_hyphenated_at_a_line_break_is_joined_and_comments_are_left_out(tmp_path):
    d = docx.Document()
    p = raw_paragraph(d, '<w:r><w:t xml:space="preserve">La fonte des glaciers est un problème inter\u2010</w:t>'
                         '<w:br/><w:t>national depuis les relevés franco-</w:t><w:br/>'
                         '<w:t>suisses de 1900.</w:t></w:r>')
    d.add_comment(p.runs, text="Vérifier la date des premiers relevés", author="Relecteur")
    path = tmp_path / "hyphens.docx"
    d.save(path)
    parsed = read_docx(path)
    assert [x.text for x in parsed.parts] == [
        "La fonte des glaciers est un problème international depuis les relevés franco-suisses de 1900."]
    assert Dropped("Vérifier la date des premiers relevés", "Word comment (a reviewer's note on the text)") \
        in parsed.dropped


def test_page_and_section_breaks_do_not_split_a_paragraph(tmp_path):
    d = docx.Document()
    raw_paragraph(d, '<w:r><w:t xml:space="preserve">Le glacier a perdu un tiers de sa masse</w:t></w:r>'
                     '<w:r><w:br w:type="page"/></w:r>'
                     '<w:r><w:t xml:space="preserve"> depuis 1900, selon les relevés.</w:t></w:r>')
    # a paragraph cut by a section break, carried on in lower case in the next section
    p = d.add_paragraph("Les bâches blanches couvrent désormais la grotte de glace creusée pour")
    ppr = p._p.get_or_add_pPr()
    ppr.append(OxmlElement("w:sectPr"))
    d.add_paragraph("les touristes afin de ralentir la fonte en été.")
    # and one cut by a paragraph that holds only a page break
    d.add_paragraph("Les glaciologues suisses mènent ces relevés chaque année depuis")
    raw_paragraph(d, '<w:r><w:br w:type="page"/></w:r>')
    d.add_paragraph("plus d'un siècle.")
    d.add_paragraph("Un nouveau paragraphe commence ici.").paragraph_format.page_break_before = True
    path = tmp_path / "breaks.docx"
    d.save(path)
    assert [p.text for p in read_docx(path).parts] == [
        "Le glacier a perdu un tiers de sa masse depuis 1900, selon les relevés.",
        "Les bâches blanches couvrent désormais la grotte de glace creusée pour les touristes afin de ralentir "
        "la fonte en été.",
        "Les glaciologues suisses mènent ces relevés chaque année depuis plus d'un siècle.",
        "Un nouveau paragraphe commence ici.",
    ]


# --------------------------------------------------------------------------- metadata and furniture


def test_metadata_from_the_core_properties(tmp_path):
    d = docx.Document()
    cp = d.core_properties
    cp.title = "Les glaciers des Alpes"
    cp.author = "Jeanne Martin; Paul Durand"
    cp.created = datetime(2020, 1, 2, 9, 30, tzinfo=timezone.utc)
    cp.modified = datetime(2021, 5, 6, tzinfo=timezone.utc)
    cp.language = "fr-FR"
    d.add_paragraph("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900, selon les relevés.")
    d.sections[0].header.paragraphs[0].text = "Rapport annuel — page"
    path = tmp_path / "meta.docx"
    d.save(path)

    doc = ingest_file(path)
    assert doc.title == "Les glaciers des Alpes"
    assert doc.authors == ("Jeanne Martin", "Paul Durand")
    assert doc.date == "2020-01-02"
    assert doc.language == "fr"
    assert doc.format == "docx"
    assert [x.reason for x in doc.dropped] == ["running header"]
    assert all("Rapport annuel" not in p.text for p in citable_passages(doc))


def _web_page_docx(path: Path) -> None:
    """A web page saved as Word: navigation lists before and after the article, a copyright footer."""
    d = docx.Document()

    def links(*items, style="List Bullet"):
        for item in items:
            p = d.add_paragraph(style=style)
            rid = d.part.relate_to(f"https://example.org/{len(item)}", RT.HYPERLINK, is_external=True)
            p._p.append(parse_xml(f'<w:hyperlink xmlns:w="{W_NS}" xmlns:r="{R_NS}" r:id="{rid}">'
                                  f'<w:r><w:t>{item}</w:t></w:r></w:hyperlink>'))  # fmt: skip

    for _ in range(2):
        d.add_heading("Contents", level=3)
        links("Glacier retreat", "Measurements", "Outlook")
        d.add_heading("Next topic", level=4)
        links("Snow cover", style=None)
        if _ == 0:
            d.add_heading("Glacier retreat", level=1)
            d.add_paragraph("Alpine glaciers have lost a third of their mass since 1900, the Swiss surveys show.")
            d.add_heading("Measurements", level=2)
            d.add_paragraph("Stakes drilled into the ice give the melt of every summer since the survey began.")
            d.add_heading("Outlook", level=2)
            d.add_paragraph("Half of the Alpine glaciers will be gone by the end of the century. Further reading:")
            links("Swiss glacier monitoring network", "World Glacier Monitoring Service", "Glaciers of the Alps")
    d.add_paragraph("© Copyright 2001-2026, Example Foundation. All rights reserved.")
    d.save(path)


def test_navigation_of_a_converted_web_page_is_left_out(tmp_path):
    path = tmp_path / "page.docx"
    _web_page_docx(path)
    doc = ingest_file(path)
    assert doc.title == "Glacier retreat"
    kept = texts(doc)
    assert kept[0].startswith("Alpine glaciers have lost")
    # the article's own list of links stays; the navigation and the footer go
    assert "World Glacier Monitoring Service" in kept
    assert not any(t in kept for t in ("Snow cover", "Contents", "Next topic"))
    assert not any("Copyright" in t for t in kept)
    reasons = {x.reason for x in doc.dropped}
    assert {"navigation before the text (converted web page)", "navigation after the text (converted web page)",
            "copyright line at the end of the document"} <= reasons


def test_a_closing_list_of_links_is_not_navigation(tmp_path):
    d = docx.Document()
    d.add_heading("Glacier retreat", level=1)
    d.add_paragraph("Alpine glaciers have lost a third of their mass since 1900, the Swiss surveys show.")
    d.add_heading("References", level=2)
    for item in ("Swiss glacier monitoring network", "World Glacier Monitoring Service", "Glaciers of the Alps"):
        p = d.add_paragraph(style="List Bullet")
        rid = d.part.relate_to("https://example.org/x", RT.HYPERLINK, is_external=True)
        p._p.append(parse_xml(f'<w:hyperlink xmlns:w="{W_NS}" xmlns:r="{R_NS}" r:id="{rid}">'
                              f'<w:r><w:t>{item}</w:t></w:r></w:hyperlink>'))  # fmt: skip
    path = tmp_path / "refs.docx"
    d.save(path)
    assert "Glaciers of the Alps" in texts(ingest_file(path))


# --------------------------------------------------------------------------- files


def test_a_folder_gives_its_docx_files(tmp_path):
    d = docx.Document()
    d.add_paragraph("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900, selon les relevés.")
    d.save(tmp_path / "glacier.docx")
    corpus = ingest_paths([tmp_path])
    assert [doc.id for doc in corpus.documents] == ["glacier"] and not corpus.issues


@pytest.mark.parametrize("content, expected", [
    (b"", "empty file"),
    (b"this is plain text, not a package", "not a Word document"),
    (b"PK\x03\x04 truncated", "damaged Word document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le"), "password-protected"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "WordDocument".encode("utf-16-le"), "Word 97-2003"),
])  # fmt: skip
def test_a_bad_file_is_one_line_error(tmp_path, content, expected):
    path = tmp_path / "bad.docx"
    path.write_bytes(content)
    with pytest.raises(IngestError) as e:
        ingest_file(path)
    assert expected in str(e.value) and "\n" not in str(e.value) and str(path) in str(e.value)
    corpus = ingest_paths([path])
    assert not corpus.documents and len(corpus.issues) == 1 and expected in corpus.issues[0].message


def test_a_zip_that_is_not_a_word_document(tmp_path):
    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hello")
    with pytest.raises(IngestError) as e:
        ingest_file(path)
    assert "\n" not in str(e.value) and ("not a Word document" in str(e.value) or "damaged" in str(e.value))


def test_a_document_without_text_is_an_error(tmp_path):
    d = docx.Document()
    d.add_paragraph("")
    path = tmp_path / "empty.docx"
    d.save(path)
    with pytest.raises(IngestError) as e:
        ingest_file(path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("member, data, expected", [
    ("word/document.xml", b"<<<not xml", "malformed XML"),
    ("word/document.xml", None, "missing part"),
    ("word/document.xml", b'<?xml version="1.0"?><foo xmlns="urn:x"><bar/></foo>', "unexpected content"),
    ("word/footnotes.xml", b"<<<not xml", "malformed XML"),
])  # fmt: skip
def test_a_damaged_part_is_a_one_line_error(tmp_path, member, data, expected):
    d = docx.Document()
    p = d.add_paragraph("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900")
    add_note_call(p, 1)
    add_notes(d, {1: "Relevés suisses."})
    good = tmp_path / "good.docx"
    d.save(good)
    path = tmp_path / "damaged.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            if info.filename != member:
                out.writestr(info, src.read(info.filename))
            elif data is not None:
                out.writestr(info, data)
    with pytest.raises(IngestError) as e:
        ingest_file(path)
    assert "damaged Word document" in str(e.value) and expected in str(e.value) and "\n" not in str(e.value)


def test_a_text_box_is_read_once_and_a_table_of_contents_is_left_out(tmp_path):
    d = docx.Document()
    toc = parse_xml(
        f'<w:sdt xmlns:w="{W_NS}"><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/>'
        '</w:docPartObj></w:sdtPr><w:sdtContent><w:p><w:r><w:t>Mesures 3</w:t></w:r></w:p>'
        '<w:p><w:r><w:t>Perspectives 5</w:t></w:r></w:p></w:sdtContent></w:sdt>')
    d.element.body.insert(0, toc)
    box = ('<w:txbxContent><w:p><w:r><w:t>Encadré : la grotte de glace est couverte de bâches.</w:t></w:r></w:p>'
           '</w:txbxContent>')
    raw_paragraph(d, (
        '<w:r><w:t xml:space="preserve">Le glacier recule chaque année un peu plus vite.</w:t></w:r>'
        '<w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        f'<mc:Choice Requires="wps"><w:drawing><wrap>{box}</wrap></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><wrap>{box}</wrap></w:pict></mc:Fallback></mc:AlternateContent></w:r>'
    ))  # fmt: skip
    d.add_paragraph("Le paragraphe suivant parle d'autre chose.")
    path = tmp_path / "box.docx"
    d.save(path)
    parsed = read_docx(path)
    assert [p.text for p in parsed.parts] == [
        "Le glacier recule chaque année un peu plus vite.",
        "Encadré : la grotte de glace est couverte de bâches.",
        "Le paragraphe suivant parle d'autre chose.",
    ]
    assert {x.text for x in parsed.dropped if x.reason == "table of contents"} == {"Mesures 3", "Perspectives 5"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000), st.sampled_from([b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]))
def test_arbitrary_bytes_named_docx_are_reported_in_one_line(tmp_path, data, head):
    path = tmp_path / "file.docx"
    path.write_bytes(head + data)
    corpus = ingest_paths([path])
    assert len(corpus.documents) + len(corpus.issues) == 1
    assert all("\n" not in issue.message for issue in corpus.issues)


@pytest.fixture(scope="module")
def sample_docx(tmp_path_factory) -> bytes:
    d = docx.Document()
    d.add_heading("Glaciers", level=1)
    p = d.add_paragraph("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900")
    add_note_call(p, 1)
    add_notes(d, {1: "Relevés suisses."})
    d.add_paragraph("une cause", style="List Bullet")
    d.add_table(rows=2, cols=2).cell(0, 0).text = "Rhône"
    path = tmp_path_factory.mktemp("sample") / "sample.docx"
    d.save(path)
    return path.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6),
       st.floats(0.05, 1))
def test_a_damaged_word_file_is_read_or_reported_in_one_line(tmp_path, sample_docx, flips, keep):
    data = bytearray(sample_docx[: max(1, int(len(sample_docx) * keep))])
    for where, value in flips:
        data[int(where * len(data))] = value
    path = tmp_path / "damaged.docx"
    path.write_bytes(bytes(data))
    try:
        doc = ingest_file(path)
    except IngestError as e:
        assert "\n" not in str(e)
    else:
        assert doc.paragraphs
