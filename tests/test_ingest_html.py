"""HTML pages read by their block structure (`rag.ingest.html_structure`), through `rag.ingest` as users do.

Documentation pages, FAQs and other pages that are not news articles: every
block element is a part, inline elements never split a sentence, lists,
definition lists and tables keep their context, notes are linked to their
calls, and page furniture is dropped with the reason. News articles keep the
article reading (tests/test_html.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest import IngestError, ingest_file, ingest_paths
from rag.ingest.html_structure import article_like, parse_html

from conftest import ingest_text, texts


def page(body: str, title: str = "Guide du paquetage", lang: str = "fr", head: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f"<body>{body}</body></html>")  # fmt: skip


def by_text(doc, start: str):
    return next(p for p in doc.paragraphs if p.text.startswith(start))


def test_inline_elements_never_split_a_paragraph(tmp_path):
    doc = ingest_text(tmp_path, "listes.html", page(
        "<h1>Les listes de diffusion</h1>"
        '<p>Pour être prévenu, abonnez-vous à la liste <a href="mailto:debian-announce@lists.debian.org">'
        "debian-announce@lists.debian.org</a>. Les quelques messages envoyés chaque mois sont importants.</p>"
        '<p>Nous publions aussi les <a href="/News/weekly/"><em>Debian Project News</em></a>, une compilation '
        "des nouvelles de la communauté, à peu près chaque mois.</p>"
        "<p>La licence peut défendre la liberté <strong>seulement</strong> si elle autorise la modification, "
        "avec <code>dpkg-source&nbsp;-x</code> ou <kbd>apt source</kbd>, voir <abbr>FAQ</abbr><sup>bis</sup>.</p>"
        "<p><strong>Tails OS</strong> est un système <span class=\"x\">amnésique</span> fondé sur Debian.</p>"
    ))  # fmt: skip
    assert doc.title == "Les listes de diffusion"
    assert texts(doc) == [
        "Pour être prévenu, abonnez-vous à la liste debian-announce@lists.debian.org. Les quelques messages "
        "envoyés chaque mois sont importants.",
        "Nous publions aussi les Debian Project News, une compilation des nouvelles de la communauté, à peu près "
        "chaque mois.",
        "La licence peut défendre la liberté seulement si elle autorise la modification, avec dpkg-source -x ou "
        "apt source, voir FAQbis.",
        "Tails OS est un système amnésique fondé sur Debian.",
    ]
    assert doc.format == "html" and doc.language == "fr"


def test_email_addresses_and_urls_stay_whole(tmp_path):
    doc = ingest_text(tmp_path, "contact.html", page(
        "<h1>Contacts</h1>"
        '<p>L\'administrateur des listes est &lt;<a href="mailto:listmaster@lists.debian.org">listmaster@'
        "<span>lists.debian.org</span></a>&gt;, vous pouvez l'utiliser en cas de problème.</p>"
        '<p>Le dépôt est sur <a href="https://salsa.debian.org/debian/foo">https://salsa.debian.org/'
        "<wbr>debian/foo</a> depuis 2019, avec ses rapports de bogue.</p>"
    ))  # fmt: skip
    assert texts(doc) == [
        "L'administrateur des listes est <listmaster@lists.debian.org>, vous pouvez l'utiliser en cas de problème.",
        "Le dépôt est sur https://salsa.debian.org/debian/foo depuis 2019, avec ses rapports de bogue.",
    ]


def test_definition_list_gives_terms_and_definitions(tmp_path):
    doc = ingest_text(tmp_path, "champs.html", page(
        "<h1>Le fichier control</h1><p>Les champs du paquet source :</p>"
        "<dl><dt><code>Section</code></dt><dd><p>La section de l'archive où va le paquet.</p>"
        "<p>Elle vaut <code>misc</code> par défaut.</p></dd>"
        "<dt>Priority</dt><dd>L'importance du paquet pour l'utilisateur.</dd></dl>"
    ))  # fmt: skip
    assert [(p.text, p.context) for p in doc.paragraphs[1:]] == [
        ("La section de l'archive où va le paquet.", "Section"),
        ("Elle vaut misc par défaut.", "Section"),
        ("L'importance du paquet pour l'utilisateur.", "Priority"),
    ]
    assert "Section" not in texts(doc)  # a term is the context of its definitions, not a passage


def test_table_rows_have_the_header_row_as_context(tmp_path):
    doc = ingest_text(tmp_path, "temps.html", page(
        "<h1>Conversions</h1><p>Les fonctions de conversion entre représentations du temps.</p>"
        "<table><thead><tr><th>De</th><th>Vers</th><th>Fonction</th></tr></thead><tbody>"
        "<tr><td><p>secondes depuis l'époque</p></td><td><p><code>struct_time</code> en UTC</p></td>"
        '<td><p><a href="#gmtime"><code>gmtime()</code></a></p></td></tr>'
        "<tr><td>struct_time en heure locale</td><td>secondes depuis l'époque</td><td>mktime()</td></tr>"
        "</tbody></table>"
        # a table without a header row that is still a grid of data
        "<table><tr><td>A</td><td>1</td></tr><tr><td>B</td><td>2</td></tr></table>"
    ))  # fmt: skip
    rows = [(p.text, p.context) for p in doc.paragraphs if " | " in p.text]
    assert rows == [
        ("secondes depuis l'époque | struct_time en UTC | gmtime()", "De | Vers | Fonction"),
        ("struct_time en heure locale | secondes depuis l'époque | mktime()", "De | Vers | Fonction"),
        ("A | 1", None),
        ("B | 2", None),
    ]


def test_list_items_have_their_lead_in_as_context(tmp_path):
    doc = ingest_text(tmp_path, "outils.html", page(
        "<h1>Outils</h1><p>GIMP a plusieurs sortes d'outils. On peut les ranger en trois catégories :</p>"
        "<ul><li>les outils de sélection, qui délimitent une partie de l'image ;</li>"
        "<li>les outils de peinture, dont <a href=\"pinceau.html\">le pinceau</a> ;</li>"
        "<li><p>les outils de transformation</p><ol><li>rotation</li><li>échelle</li></ol></li></ul>"
        "<p>Une dernière remarque sans liste à la suite.</p><ul><li>Un point isolé.</li></ul>"
    ))  # fmt: skip
    lead = "On peut les ranger en trois catégories :"
    assert [(p.text, p.context) for p in doc.paragraphs[1:]] == [
        ("les outils de sélection, qui délimitent une partie de l'image ;", lead),
        ("les outils de peinture, dont le pinceau ;", lead),
        ("les outils de transformation", lead),
        ("rotation", "les outils de transformation"),
        ("échelle", "les outils de transformation"),
        ("Une dernière remarque sans liste à la suite.", None),
        ("Un point isolé.", None),
    ]


def test_code_blocks_are_kept_verbatim(tmp_path):
    doc = ingest_text(tmp_path, "tas.html", page(
        "<h1>heapq</h1><p>Un tri par tas s'écrit ainsi :</p>"
        '<div class="highlight"><pre><span class="k">def</span> <span class="nf">heapsort</span>(iterable):\n'
        "    h = []\n    <span class=\"k\">for</span> value <span class=\"ow\">in</span> iterable:\n"
        "        heappush(h, value)\n</pre></div>"
    ))  # fmt: skip
    code = doc.paragraphs[1]
    assert code.text == "def heapsort(iterable):\n    h = []\n    for value in iterable:\n        heappush(h, value)"
    assert code.context == "Un tri par tas s'écrit ainsi :"


def test_notes_linked_to_their_calls(tmp_path):
    # DocBook: <a href="#ftn.x"><sup>[54]</sup></a> and a footnotes div; Sphinx: a footnote called twice,
    # its back-links "(1, 2)" in the note.
    doc = ingest_text(tmp_path, "notes.html", page(
        "<h1>Autres fichiers</h1>"
        '<p>Marquez ces fichiers comme conffiles. <a href="#ftn.idm2089" class="footnote" id="idm2089">'
        '<sup class="footnote">[54]</sup></a> Lors de la mise à jour, une question est posée.</p>'
        '<p>Le fichier est ouvert avec <code>newline=\'\'</code><a class="footnote-reference brackets" href="#id3" '
        'id="id1" role="doc-noteref"><span class="fn-bracket">[</span>1<span class="fn-bracket">]</span></a> '
        'puis relu<a class="footnote-reference brackets" href="#id3" id="id2" role="doc-noteref">'
        '<span class="fn-bracket">[</span>1<span class="fn-bracket">]</span></a>.</p>'
        '<div class="footnotes"><br/><hr/><div id="ftn.idm2089" class="footnote"><p><a href="#idm2089" class="para">'
        '<sup class="para">[54] </sup></a>Consultez <a class="ulink" href="https://www.debian.org/doc/debian-policy/">'
        "la Charte Debian</a>.</p></div></div>"
        '<p class="rubric">Footnotes</p><aside class="footnote-list brackets"><aside class="footnote brackets" '
        'id="id3" role="note"><span class="label"><span class="fn-bracket">[</span>1<span class="fn-bracket">]'
        '</span></span><span class="backrefs">(<a role="doc-backlink" href="#id1">1</a>,<a role="doc-backlink" '
        'href="#id2">2</a>)</span><p>Sans cela, les fins de ligne ne sont pas interprétées.</p></aside></aside>'
    ))  # fmt: skip
    first, second = doc.paragraphs
    assert first.text == "Marquez ces fichiers comme conffiles. [54] Lors de la mise à jour, une question est posée."
    assert first.footnotes == (54,) and first.text[first.calls[0].start:first.calls[0].end] == "[54]"
    assert second.text == "Le fichier est ouvert avec newline=''[1] puis relu[1]."
    assert second.footnotes == (1,) and len(second.calls) == 2
    assert [(f.number, f.text, f.url) for f in doc.footnotes] == [
        (1, "Sans cela, les fins de ligne ne sont pas interprétées.", None),
        (54, "Consultez la Charte Debian.", "https://www.debian.org/doc/debian-policy/"),
    ]
    assert ("Footnotes", "heading of the notes (they are read as notes)") in [(d.text, d.reason) for d in doc.dropped]


def test_notes_under_a_notes_heading_called_by_superscripts(tmp_path):
    doc = ingest_text(tmp_path, "sup.html", page(
        "<h1>Le bocage</h1><p>Les haies retiennent l'eau des orages.<sup>1</sup> Elles abritent les oiseaux.</p>"
        "<h2>Notes</h2><ol><li>Chiffres de l'inventaire forestier, 2019.</li></ol>"
    ))  # fmt: skip
    assert texts(doc) == ["Les haies retiennent l'eau des orages.[1] Elles abritent les oiseaux."]
    assert [(f.number, f.text) for f in doc.footnotes] == [(1, "Chiffres de l'inventaire forestier, 2019.")]


DOCS_PAGE = page(title="Sélection — Manuel de GIMP", body="""
<a class="skip-link" href="#content">Aller au contenu</a>
<div class="navheader"><table summary="Navigation header"><tr><th colspan="3">4.8. Éditeur de sélection</th></tr>
<tr><td><a accesskey="p" href="prev.html">Précédent</a></td><th>4. Le menu Sélection</th>
<td><a accesskey="n" href="next.html">Suivant</a></td></tr></table></div>
<nav class="breadcrumbs"><a href="/">Accueil</a> » <a href="/menus/">Menus</a> » Sélection</nav>
<div class="sphinxsidebar" role="navigation"><h3>Table des matières</h3><ul><li><a href="#a">Activer</a></li>
<li><a href="#b">Options</a></li></ul><div role="search"><form><input name="q"></form></div></div>
<div id="content">
<h1>Sélection</h1>
<ul class="toc"><li><a href="#a">Activer la commande</a></li><li><a href="#b">Options</a></li><li><a href="#c">Voir aussi</a></li></ul>
<h2 id="a">Activer la commande</h2>
<p>On accède à cette commande depuis le menu Sélection de la fenêtre d'image, ou par un raccourci clavier.</p>
<p>→ <a href="https://docs.gimp.org/fr/selection.html">https://docs.gimp.org/fr/selection.html</a></p>
<ul><li><a href="a.html">Tout</a></li><li><a href="b.html">Aucune</a></li><li><a href="c.html">Inverser</a></li></ul>
</div>
<footer><p>© 2024 L'équipe de documentation. <a href="https://gitlab.gnome.org/GNOME/gimp-help/issues">Report a bug</a></p></footer>
""")


def test_navigation_and_footer_are_dropped_with_reasons(tmp_path):
    doc = ingest_text(tmp_path, "selection.html", DOCS_PAGE)
    assert texts(doc) == [
        "On accède à cette commande depuis le menu Sélection de la fenêtre d'image, ou par un raccourci clavier."
    ]
    assert doc.title == "Sélection" and [s.title for s in doc.sections] == ["Activer la commande"]
    reasons = {d.text: d.reason for d in doc.dropped}
    assert reasons["Aller au contenu"] == "a link to another place in the page (skip or back-to-top link)"
    assert "navheader" in reasons["4.8. Éditeur de sélection Précédent 4. Le menu Sélection Suivant"]
    assert reasons["Accueil » Menus » Sélection"] == "navigation (<nav>)"
    assert reasons["Table des matières Activer Options"] == "navigation (role)"
    assert reasons["Activer la commande Options Voir aussi"] == "page furniture (class or id “toc”)"
    assert reasons["→ https://docs.gimp.org/fr/selection.html"].startswith("a link line")
    assert reasons["Tout Aucune Inverser"] == "list of links (navigation)"
    assert reasons["© 2024 L'équipe de documentation. Report a bug"] == "page footer (<footer>)"
    everything = " ".join([*texts(doc), *(s.title for s in doc.sections)])
    for furniture in ("Précédent", "Suivant", "Accueil", "Table des matières", "Report a bug", "©", "→"):
        assert furniture not in everything


def test_outside_the_main_element_is_furniture(tmp_path):
    doc = ingest_text(tmp_path, "main.html", page(lang="en", title="csv — CSV File Reading", body=(
        '<div class="menu-wrapper"><p><a href="index.html">Python</a> » <a href="lib.html">Library</a></p></div>'
        '<div class="theme-switch"><p>Theme: Auto · Light · Dark</p></div>'
        '<div class="body" role="main"><h1>csv — CSV File Reading</h1>'
        "<p>The csv module implements classes to read and write tabular data in CSV format.</p>"
        '<aside class="topic"><p class="topic-title">Overview</p><p>This aside inside the main text is kept '
        "as part of it.</p></aside></div>"
        '<div class="copyright-line"><p>Last updated on October 07, 2026. Found a bug?</p></div>'
    )))  # fmt: skip
    assert texts(doc) == [
        "The csv module implements classes to read and write tabular data in CSV format.",
        "Overview",
        "This aside inside the main text is kept as part of it.",
    ]
    reasons = {d.text: d.reason for d in doc.dropped}
    assert reasons["Theme: Auto · Light · Dark"] == "outside the page's main content (its <main> element)"
    assert reasons["Last updated on October 07, 2026. Found a bug?"].startswith("outside the page's main content")


def test_faq_answers_follow_their_questions(tmp_path):
    doc = ingest_text(tmp_path, "faq.html", page(title="FAQ Debian", body=(
        "<h1>Questions fréquentes</h1><h2>Généralités</h2>"
        "<dl><dt>Est-ce que Debian est gratuit ?</dt><dd>Oui.</dd>"
        "<dt>Puis-je l'installer sur un vieux PC ?</dt><dd><p>Probablement, avec au moins 512 Mo de mémoire.</p></dd></dl>"
        "<h2>Support</h2><p><b>Où poser une question ?</b></p><p>Sur la liste debian-user-french.</p>"
        "<p><strong>Y a-t-il un forum ?</strong></p><p>Oui, forums.debian.net.</p>"
        "<details><summary>Et un canal IRC ?</summary><p>Oui, #debian-fr sur OFTC.</p></details>"
    )))  # fmt: skip
    assert [(p.section, p.text) for p in doc.paragraphs] == [
        ("Est-ce que Debian est gratuit ?", "Oui."),
        ("Puis-je l'installer sur un vieux PC ?", "Probablement, avec au moins 512 Mo de mémoire."),
        ("Où poser une question ?", "Sur la liste debian-user-french."),
        ("Y a-t-il un forum ?", "Oui, forums.debian.net."),
        ("Et un canal IRC ?", "Oui, #debian-fr sur OFTC."),
    ]


def test_admonition_title_is_context_and_metadata_from_the_page(tmp_path):
    doc = ingest_text(tmp_path, "howto.html", page(lang="en", title="Sorting HOW TO &#8212; Python 3.11 documentation",
                                                   head='<link rel="canonical" href="https://docs.python.org/3/howto/sorting.html">',
                                                   body=(
        "<h1>Sorting HOW TO<a class=\"headerlink\" href=\"#sorting\" title=\"Permalink\">¶</a></h1>"
        '<dl class="field-list simple"><dt class="field-odd">Author<span class="colon">:</span></dt>'
        '<dd class="field-odd"><p>Andrew Dalke and Raymond Hettinger</p></dd></dl>'
        '<p>Python lists have a built-in list.sort() method that modifies the list in-place.</p>'
        '<div class="admonition note"><p class="admonition-title">Note</p>'
        "<p>The sort is guaranteed to be stable since Python 2.2.</p></div>"
    )))  # fmt: skip
    assert doc.title == "Sorting HOW TO"
    assert doc.authors == ("Andrew Dalke", "Raymond Hettinger")
    assert doc.url == "https://docs.python.org/3/howto/sorting.html" and doc.language == "en"
    note = by_text(doc, "The sort is guaranteed")
    assert note.context == "Note" and "Note" not in texts(doc)
    assert "¶" not in " ".join([doc.title, *texts(doc)])


def test_articles_keep_the_article_reading(tmp_path):
    article = page(head='<meta property="article:published_time" content="2024-03-01T08:00:00Z">', body=(
        "<article><h1>Les haies</h1><p class=\"chapo\">Les agriculteurs replantent des haies le long des "
        "parcelles pour retenir l'eau et abriter les oiseaux.</p>"
        "<p>La région finance les plants depuis dix ans et la carte des haies recense déjà plus de deux mille "
        "kilomètres replantés dans le bocage.</p></article>"))  # fmt: skip
    assert article_like(article) and not article_like(DOCS_PAGE)
    assert not article_like(DOCS_PAGE.replace("<head>", '<head><meta property="og:type" content="article">'))
    # a section of a reference manual about comments is no section of reader comments
    assert not article_like(page('<section id="comment-objects"><h2>Comment Objects</h2><p>Comment represents '
                                 "the contents of a comment in the XML document.</p></section>"))
    doc = ingest_text(tmp_path, "haies.html", article)
    assert doc.lead.startswith("Les agriculteurs replantent")  # the article reading finds the lead
    assert doc.lead not in texts(doc)


def test_parse_html_returns_parts_and_dropped():
    parsed = parse_html(DOCS_PAGE)
    assert parsed.format == "html"
    assert [p.kind for p in parsed.parts] == ["heading", "heading", "paragraph"]
    assert all(d.reason for d in parsed.dropped)


def test_a_page_of_furniture_only_or_garbage_is_a_one_line_issue(tmp_path):
    (tmp_path / "nav.html").write_text(page('<nav><a href="/">Accueil</a> <a href="/a">À propos</a></nav>'
                                            "<footer><p>© 2024</p></footer>"), encoding="utf-8")  # fmt: skip
    (tmp_path / "vide.htm").write_text(page("\n"), encoding="utf-8")
    (tmp_path / "binaire.html").write_bytes(b"\x00\x01\x02" * 10)
    corpus = ingest_paths([tmp_path])
    assert corpus.documents == ()
    messages = {Path(i.path).name: i.message for i in corpus.issues}
    assert messages["nav.html"] == "no paragraph of text found (2 blocks of page furniture left out)"
    assert messages["vide.htm"] == "no text found"
    assert "binaire.html" in messages
    assert all("\n" not in m for m in messages.values())
    with pytest.raises(IngestError) as e:
        ingest_file(tmp_path / "vide.htm")
    assert str(tmp_path / "vide.htm") in str(e.value)


def test_unmarked_site_banner_is_left_out_with_the_extractors_help(tmp_path):
    # No element, role or class says what the two first lines are; trafilatura leaves them out of the
    # main content, and they are labels before the page's first heading.
    doc = ingest_text(tmp_path, "noyau.html", page(title="Notes de Jean", body=(
        '<div class="top"><p>Le carnet de Jean</p><p>Logiciel libre, vélo et jardinage</p></div>'
        "<div class=\"content\"><h2>Compiler son noyau</h2><p>Compiler son propre noyau Linux est moins difficile qu'on le croit, "
        "à condition de partir de la configuration de la distribution et de ne changer qu'une option à la fois.</p>"
        "<p>La commande make localmodconfig réduit la liste des modules à ceux qui sont chargés sur la machine, "
        "ce qui raccourcit beaucoup la compilation.</p></div>"
    )))  # fmt: skip
    assert [t[:20] for t in texts(doc)] == ["Compiler son propre ", "La commande make loc"]
    assert [(d.text, d.reason) for d in doc.dropped] == [
        ("Le carnet de Jean", "outside the main content (HTML extractor)"),
        ("Logiciel libre, vélo et jardinage", "outside the main content (HTML extractor)"),
    ]


def test_an_empty_line_of_line_breaks_starts_a_paragraph(tmp_path):
    doc = ingest_text(tmp_path, "vieux.html", page(
        "<div><h1>Vieux site</h1>Première ligne d'un paragraphe,<br>qui continue sur la ligne suivante.<br><br>\n"
        'Un second paragraphe, après une ligne vide.<br>\n<br>Un troisième, avec un <a href="x.html">lien</a>.</div>'
    ))  # fmt: skip
    assert texts(doc) == [
        "Première ligne d'un paragraphe, qui continue sur la ligne suivante.",
        "Un second paragraphe, après une ligne vide.",
        "Un troisième, avec un lien.",
    ]


def test_a_page_that_shows_its_text_only_through_its_script(tmp_path):
    # Every variant of the text is hidden until a script shows one: read them rather than nothing.
    doc = ingest_text(tmp_path, "aide.html", page(
        '<header><p>Aide LibreOffice 7.4</p></header><div id="DisplayArea"><h1>Scinder des cellules</h1>'
        '<p><span hidden="true" class="CALC">Divise les cellules fusionnées dans Calc.</span>'
        '<span hidden="true" class="WRITER">Divise les cellules fusionnées dans Writer.</span></p></div>'
    ))  # fmt: skip
    assert texts(doc) == ["Divise les cellules fusionnées dans Calc. Divise les cellules fusionnées dans Writer."]


def test_encyclopedia_page_references_edit_links_and_key_value_table(tmp_path):
    doc = ingest_text(tmp_path, "tails.html", page(lang="en", title="Tails (operating system) - Wikipedia", body=(
        '<main id="content"><h1>Tails (operating system)</h1>'
        '<table class="infobox"><tr><th colspan="2">Tails</th></tr><tr><th>Developer</th><td>The Tails project</td>'
        '</tr><tr><th>OS family</th><td>Linux (<a href="/Unix-like">Unix-like</a>)</td></tr></table>'
        '<p><b>Tails</b> is a security-focused <a href="/Debian">Debian</a>-based Linux distribution aimed at '
        'preserving privacy.<sup id="cite_ref-1" class="reference"><a href="#cite_note-1">[1]</a></sup></p>'
        '<h2><span class="mw-headline">History</span><span class="mw-editsection">[<a href="/edit">edit</a>]'
        "</span></h2><p>Tails was first released on 23 June 2009 as the successor of Incognito.</p>"
        '<h2>References</h2><ol class="references"><li id="cite_note-1"><span class="mw-cite-backlink"><b>'
        '<a href="#cite_ref-1">^</a></b></span> <span class="reference-text"><a href="https://tails.net/about/">'
        '"About Tails"</a>. tails.net.</span></li></ol>'
        '<div class="catlinks">Categories: <ul><li><a href="/c1">Debian-based distributions</a></li></ul></div></main>'
    )))  # fmt: skip
    assert [(p.text, p.section) for p in doc.paragraphs] == [
        ("Tails", None),
        ("Developer | The Tails project", None),
        ("OS family | Linux (Unix-like)", None),
        ("Tails is a security-focused Debian-based Linux distribution aimed at preserving privacy.[1]", None),
        ("Tails was first released on 23 June 2009 as the successor of Incognito.", "History"),
    ]
    assert [(f.number, f.text, f.url) for f in doc.footnotes] == [(1, '"About Tails". tails.net.', "https://tails.net/about/")]
    assert ("Categories: Debian-based distributions", "page furniture (class or id “catlinks”)") in [
        (d.text, d.reason) for d in doc.dropped]
