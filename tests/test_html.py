"""HTML pages through ingestion: main content, metadata, linked notes, comments, fallback, bad pages.

The page is read by `rag.html`; these tests go through `rag.ingest`, as users do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest import citable_passages, ingest_file, ingest_paths

from conftest import ingest_text, texts


QUOTIDIEN = """\
<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8">
<title>Le vélo-cargo conquiert les artisans lyonnais | Le Quotidien du Rhône</title>
<meta property="og:title" content="Le vélo-cargo conquiert les artisans lyonnais">
<meta property="og:site_name" content="Le Quotidien du Rhône">
<meta name="author" content="Claire DUVAL">
<meta property="article:published_time" content="2023-05-14T08:30:00+02:00">
<script>var tracker = "Partager sur Facebook";</script>
</head><body>
<header><nav><ul><li><a href="/">Accueil</a></li><li><a href="/eco">Économie</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<div id="cookie-banner"><p>Nous utilisons des cookies pour mesurer l'audience. <button>Accepter</button> <button>Refuser</button></p></div>
<main><article>
<h1>Le vélo-cargo conquiert les artisans lyonnais</h1>
<p class="byline">Par <a href="/auteurs/duval">Claire Duval</a>, le 14 mai 2023</p>
<p class="chapo"><strong>Plombiers, fleuristes et livreurs remplacent leur camionnette par un vélo-cargo électrique pour circuler dans le centre de Lyon.</strong></p>
<div class="share-buttons"><a href="#">Partager sur Facebook</a> <a href="#">Partager sur X</a></div>
<p>Depuis la mise en place de la zone à faibles émissions, de nombreux artisans lyonnais ont revendu leur camionnette. Le vélo-cargo électrique, capable de transporter plus de cent kilos d'outillage, leur permet de rejoindre les chantiers du centre sans chercher de stationnement.<sup>1</sup></p>
<h2>Un investissement vite amorti</h2>
<p>Un plombier de la Croix-Rousse explique qu'il a rentabilisé son vélo en moins de deux ans : il ne paie plus de carburant ni d'amendes de stationnement, et ses clients apprécient sa ponctualité dans les rues étroites des pentes.</p>
<aside class="related"><h3>À lire aussi</h3><ul><li><a href="/a">Les prix de l'immobilier reculent à Villeurbanne</a></li><li><a href="/b">Football : l'OL s'incline à domicile</a></li></ul></aside>
<p>La métropole subventionne l'achat des vélos-cargos à hauteur de mille euros pour les artisans. Les vendeurs spécialisés constatent que leurs carnets de commandes sont pleins jusqu'à l'automne.</p>
<div class="newsletter"><p>Recevez chaque matin l'essentiel de l'actualité lyonnaise. Inscrivez-vous à notre newsletter !</p><form><input type="email"><button>S'inscrire</button></form></div>
<h2>Notes</h2>
<ol><li>Chiffres de la chambre des métiers, <a href="https://example.org/cma-2023">rapport 2023</a>.</li></ol>
</article></main>
<section class="comments"><h2>Commentaires (1)</h2>
<div class="comment"><p class="author">Marc L.</p><p class="date">15 mai 2023 à 09:12</p><p>Enfin une bonne nouvelle pour l'air du centre-ville.</p></div>
</section>
<footer><p>© 2023 Le Quotidien du Rhône – Tous droits réservés</p><p><a href="/mentions">Mentions légales</a> · <a href="/contact">Contact</a></p></footer>
</body></html>
"""


def test_html_page_main_content_and_metadata(tmp_path):
    doc = ingest_text(tmp_path, "velo-cargo.html", QUOTIDIEN)
    assert doc.title == "Le vélo-cargo conquiert les artisans lyonnais" and doc.format == "html"
    assert doc.authors == ("Claire Duval",)
    assert doc.date == "2023-05-14"
    assert doc.site == "Le Quotidien du Rhône"
    assert doc.lead.startswith("Plombiers, fleuristes et livreurs")
    assert [s.title for s in doc.sections] == ["Un investissement vite amorti"]
    body = texts(doc)
    assert [t[:20] for t in body] == ["Depuis la mise en pl", "Un plombier de la Cr", "La métropole subvent"]
    assert doc.paragraphs[0].footnotes == (1,) and doc.paragraphs[0].text.endswith("stationnement.[1]")
    assert doc.paragraphs[2].section == "Un investissement vite amorti"
    joined = " ".join(body)
    for furniture in ("Accueil", "cookies", "Partager", "À lire aussi", "Villeurbanne", "newsletter", "Mentions", "©"):
        assert furniture not in joined
    [note] = doc.footnotes
    assert (note.number, note.url) == (1, "https://example.org/cma-2023")
    [comment] = doc.comments
    assert (comment.author, comment.date) == ("Marc L.", "2023-05-15T09:12")
    assert len(doc.dropped) >= 10


HARBOUR_GAZETTE = """\
<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<title>Tidal power returns to the Severn estuary | The Harbour Gazette</title>
<meta name="author" content="Tom ELLIS">
<meta property="article:published_time" content="2021-03-04T07:15:00Z">
<meta property="og:site_name" content="The Harbour Gazette">
<meta property="og:url" content="https://gazette.example/energy/tidal-power">
<link rel="canonical" href="https://gazette.example/energy/tidal-power">
<script>window.dataLayer = [{"page": "Share this story with your friends"}];</script>
</head><body>
<header><nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/energy">Energy</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="cookie-consent"><p>We use cookies to improve your experience. <a href="javascript:acceptCookies()">Accept</a></p></div>
<main><article>
<h1>Tidal power returns to the Severn estuary</h1>
<p class="byline">By Tom Ellis</p>
<p class="standfirst">A consortium of engineers has revived plans for a tidal lagoon that could power half a million homes from the second highest tidal range in the world.</p>
<div class="share"><a href="javascript:void(0)">Share on Facebook</a> <a href="javascript:window.print()">Print</a></div>
<p>The Severn estuary has a tidal range of up to fourteen metres, which makes it one of the most studied sites for tidal energy in Europe.<sup id="fnref1"><a href="#fn1">1</a></sup> Earlier projects were abandoned because of their cost and of their impact on wading birds.</p>
<script>document.write("Advertisement: buy our premium plan today");</script>
<h2>A smaller lagoon</h2>
<p>The new design encloses a smaller area than the barrage proposed in 2010, and the engineers say that it would leave the mudflats used by migrating birds <a href="javascript:openGlossary('mudflat')">largely untouched</a> at low tide.<sup id="fnref2"><a href="#fn2">2</a></sup></p>
<aside class="related-links"><h3>Related stories</h3><ul><li><a href="/a">Ten gadgets for your kitchen this spring</a></li><li><a href="/b">Local football club signs new striker</a></li></ul></aside>
<p>Turbines would run on both the incoming and the outgoing tide, producing electricity for about fourteen hours a day at predictable times that the grid operator can plan for.</p>
<h2>Costs and critics</h2>
<p>Critics point out that the cost per megawatt hour remains higher than offshore wind, although the lagoon would last more than a century once built and its output is known decades in advance.</p>
<div class="newsletter-signup"><p>Sign up to our energy newsletter and get the week's news in your inbox.</p><form><input type="email"><button>Subscribe</button></form></div>
<section class="footnotes"><h2>Notes</h2><ol>
<li id="fn1">Tidal range figures from the <a href="https://example.org/tides">national tide gauge network</a>. <a href="#fnref1">↩</a></li>
<li id="fn2">Environmental assessment, 2020 edition, chapter four. <a href="#fnref2">↩</a></li>
</ol></section>
</article></main>
<section id="comments" class="comments-area"><h2>2 comments</h2>
<ol class="comment-list">
<li class="comment"><div class="comment-meta"><span class="comment-author">Rosa Quinn</span> <span class="comment-date">March 5, 2021 at 10:02</span></div><div class="comment-content"><p>Good to see this idea back on the table after so many years of waiting.</p></div></li>
<li class="comment"><div class="comment-meta"><span class="comment-author">Ben</span> <span class="comment-date">March 6, 2021 at 18:40</span></div><div class="comment-content"><p>What about the shipping lanes into the port, will they stay open during construction?</p></div></li>
</ol></section>
<footer><p>© 2021 The Harbour Gazette. All rights reserved.</p><p><a href="/privacy">Privacy policy</a> · <a href="/terms">Terms</a></p></footer>
<script src="/app.js"></script>
</body></html>
"""


@pytest.fixture
def gazette(tmp_path, no_network):
    doc = ingest_text(tmp_path, "tidal.html", HARBOUR_GAZETTE)
    # the page names its URL twice: nothing may be fetched (a refused fetch that
    # the HTML reader swallowed would still be recorded here)
    assert no_network == []
    return doc


def test_html_article_metadata_from_the_page(gazette):
    assert gazette.title == "Tidal power returns to the Severn estuary"
    assert gazette.authors == ("Tom Ellis",)
    assert gazette.date == "2021-03-04"
    assert gazette.site == "The Harbour Gazette"
    assert gazette.language == "en"
    assert gazette.lead.startswith("A consortium of engineers has revived plans")
    assert citable_passages(gazette)[-1].text == (
        "“Tidal power returns to the Severn estuary”, an article by Tom Ellis published on 4 March 2021 "
        "on The Harbour Gazette."
    )


def test_html_article_body_sections_and_furniture(gazette):
    assert [s.title for s in gazette.sections] == ["A smaller lagoon", "Costs and critics"]
    assert [(p.text[:20], p.section) for p in gazette.paragraphs] == [
        ("The Severn estuary h", None),
        ("The new design enclo", "A smaller lagoon"),
        ("Turbines would run o", "A smaller lagoon"),
        ("Critics point out th", "Costs and critics"),
    ]
    joined = " ".join(texts(gazette))
    for furniture in ("Home", "cookies", "Share", "Print", "Related stories", "gadgets", "football", "newsletter",
                      "Subscribe", "©", "Privacy", "By Tom Ellis", "Rosa", "shipping lanes", "↩"):  # fmt: skip
        assert furniture not in joined
    assert gazette.lead not in texts(gazette)
    assert len(gazette.dropped) >= 10


def test_html_note_calls_link_to_the_notes(gazette):
    first, second = gazette.paragraphs[0], gazette.paragraphs[1]
    assert first.footnotes == (1,) and "in Europe.[1] Earlier projects" in first.text
    assert second.footnotes == (2,) and second.text.endswith("at low tide.[2]")
    assert [(f.number, f.text, f.url) for f in gazette.footnotes] == [
        (1, "Tidal range figures from the national tide gauge network.", "https://example.org/tides"),
        (2, "Environmental assessment, 2020 edition, chapter four.", None),
    ]


def test_html_comments_are_comments_not_body(gazette):
    assert [(c.id, c.author, c.date) for c in gazette.comments] == [
        ("tidal:c1", "Rosa Quinn", "2021-03-05T10:02"),
        ("tidal:c2", "Ben", "2021-03-06T18:40"),
    ]
    assert gazette.comments[1].text.startswith("What about the shipping lanes")
    assert all("shipping" not in p.text and p.kind != "comment" for p in citable_passages(gazette))


def test_html_scripts_and_javascript_links_leave_no_code(tmp_path):
    path = tmp_path / "scripts.html"
    path.write_text(
        "<html><head><title>Les haies du bocage</title><script>var promo = 'Abonnez-vous au bocage';</script></head>"
        "<body><article><h1>Les haies du bocage</h1>"
        "<p>Les agriculteurs de la Mayenne replantent des haies le long des parcelles, car elles retiennent l'eau "
        "des orages et abritent les oiseaux qui mangent les insectes des cultures.</p>"
        "<script>trackEvent('lecture', {haies: true}); document.write('Publicité');</script>"
        "<p>La région finance les plants et <a href=\"javascript:void(openMap('bocage'))\">la carte des haies</a> "
        "<a href=\"javascript:alert(1)\" onclick=\"steal()\">recense</a> déjà plus de deux mille kilomètres "
        "replantés depuis dix ans.<noscript>Activez JavaScript pour voir la carte.</noscript></p>"
        "</article><script type=\"application/ld+json\">{\"@type\": \"NewsArticle\", \"headline\": \"x\"}</script>"
        "</body></html>",
        encoding="utf-8",
    )
    doc = ingest_file(path)
    assert [t[:30] for t in texts(doc)] == ["Les agriculteurs de la Mayenne", "La région finance les plants e"]
    assert "la carte des haies recense déjà" in doc.paragraphs[1].text  # link texts stay, their code goes
    everything = " ".join([*texts(doc), doc.title, *(f.text for f in doc.footnotes)])
    for code in ("javascript", "trackEvent", "document.write", "Publicité", "promo", "Abonnez", "openMap",
                 "alert", "steal", "Activez", "@type"):  # fmt: skip
        assert code not in everything


def test_html_note_numbers_in_brackets_and_comments_without_dates(tmp_path):
    # Notes in a block of their own that the extractor leaves out, calls "[<a>1</a>]" in the notes,
    # and a forum whose messages carry no date: the name line above each one is its author.
    path = tmp_path / "landes.html"
    path.write_text(
        '<html lang="fr"><head><title>La forêt landaise après la tempête</title>'
        '<meta name="author" content="Paul Martin"></head><body>'
        '<div class="menu"><a href="/">Accueil</a> | <a href="/articles">Articles</a></div>'
        '<div class="texte"><h1>La forêt landaise après la tempête</h1>'
        "<p>Dix ans après la tempête, la forêt des Landes a été replantée à plus de quatre-vingts pour cent, mais "
        "les sylviculteurs hésitent encore sur les essences à privilégier face aux sécheresses."
        '<a href="#nb1" class="spip_note" id="nh1">[1]</a></p>'
        "<p>Le pin maritime reste majoritaire, car il pousse vite sur les sols sableux et pauvres du massif, mais "
        "certains propriétaires introduisent des feuillus en lisière pour limiter les incendies.</p>"
        "<p>Les coopératives forestières estiment que les premières coupes d'éclaircie auront lieu dans cinq ans, "
        "ce qui relancera l'activité des scieries de la région.</p></div>"
        '<div class="notes"><h2>Notes</h2><div id="nb1"><p><span>[<a href="#nh1">1</a>] </span>'
        "Chiffres de l'inventaire forestier national, 2019.</p></div></div>"
        '<div id="comments"><div class="comment"><span class="author">Jeanne</span>'
        "<p>Mon grand-père a replanté sa parcelle de pins l'année suivante.</p></div>"
        '<div class="comment"><span class="author">Luc B.</span>'
        "<p>Les feuillus en lisière, c'est une très bonne idée contre le feu.</p></div></div>"
        "</body></html>",
        encoding="utf-8",
    )
    doc = ingest_file(path)
    assert doc.authors == ("Paul Martin",) and doc.language == "fr"
    assert [t[:15] for t in texts(doc)] == ["Dix ans après l", "Le pin maritime", "Les coopérative"]
    assert doc.paragraphs[0].footnotes == (1,) and doc.paragraphs[0].text.endswith("sécheresses.[1]")
    [note] = doc.footnotes
    assert (note.number, note.text) == (1, "Chiffres de l'inventaire forestier national, 2019.")
    assert [(c.author, c.text[:20]) for c in doc.comments] == [
        ("Jeanne", "Mon grand-père a rep"),
        ("Luc B.", "Les feuillus en lisi"),
    ]


def test_html_falls_back_to_the_page_blocks_when_trafilatura_finds_nothing(tmp_path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    doc = ingest_text(tmp_path, "velo-cargo.html", QUOTIDIEN)
    assert [t[:20] for t in texts(doc)] == ["Depuis la mise en pl", "Un plombier de la Cr", "La métropole subvent"]
    assert doc.authors == ("Claire Duval",) and doc.date == "2023-05-14"
    assert [c.author for c in doc.comments] == ["Marc L."]


def test_near_empty_html_is_a_one_line_issue(tmp_path):
    (tmp_path / "shell.html").write_text(
        "<html><head><title>Coming soon</title><script>var app = 'Les abeilles sauvages supportent mal les "
        "vagues de chaleur en Europe, selon une étude récente.';</script></head>"
        '<body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li></ul></nav>'
        '</header><main><div id="app"></div></main><footer><p>© 2024 Example Ltd. All rights reserved.</p>'
        "</footer></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "blank.htm").write_text("<html><head><title>x</title></head><body>\n</body></html>", encoding="utf-8")
    (tmp_path / "good.html").write_text(QUOTIDIEN, encoding="utf-8")
    corpus = ingest_paths([tmp_path])
    assert [d.id for d in corpus.documents] == ["good"]
    lines = {Path(i.path).name: f"{i.path}: {i.message}" for i in corpus.issues}
    assert set(lines) == {"shell.html", "blank.htm"}
    # not an article (nothing says so): read by its structure, where all it shows is navigation and footer
    assert lines["shell.html"].endswith("shell.html: no paragraph of text found (2 blocks of page furniture left out)")
    assert lines["blank.htm"].endswith("blank.htm: no text found")
    assert all("\n" not in line for line in lines.values())


def test_article_paragraphs_cut_by_the_extractor_are_made_whole_again(tmp_path):
    # Text held directly in a <div> comes out of trafilatura cut at its inline elements, with spaces lost;
    # a link inside <code> is moved to the end of its paragraph. The page's own blocks make them whole.
    doc = ingest_text(tmp_path, "kali.html", (
        '<html lang="fr"><head><title>Kali Linux</title><meta name="author" content="Jo Martin">'
        '<meta property="article:published_time" content="2024-01-02"></head><body><article><h1>Kali Linux</h1>'
        '<div class="texte"><strong>Kali Linux</strong> est une distribution fondée sur Debian pour les tests '
        'd\'intrusion, maintenue par OffSec. Elle fournit <a href="/tools">des centaines d\'outils</a> pour le '
        '<code>pentest</code>, et l\'on peut écrire à <a href="mailto:devel@kali.org">devel@kali.org</a> pour '
        "obtenir de l'aide.</div>"
        "<p>L'administrateur des listes est <code>&lt;<a href=\"mailto:listmaster@lists.debian.org\">"
        "listmaster@lists.debian.org</a>&gt;</code>, vous pouvez l'utiliser en cas de problème avec un abonnement."
        "</p></article></body></html>"
    ))  # fmt: skip
    assert doc.title == "Kali Linux" and doc.authors == ("Jo Martin",)
    assert texts(doc) == [
        "Kali Linux est une distribution fondée sur Debian pour les tests d'intrusion, maintenue par OffSec. Elle "
        "fournit des centaines d'outils pour le pentest, et l'on peut écrire à devel@kali.org pour obtenir de l'aide.",
        "L'administrateur des listes est <listmaster@lists.debian.org>, vous pouvez l'utiliser en cas de problème "
        "avec un abonnement.",
    ]
