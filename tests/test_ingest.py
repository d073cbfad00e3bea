"""Ingestion: the two seed articles, articles of other sites and formats, and bad files."""

from __future__ import annotations

import re
import socket
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

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DIPLOWEB = SEEDS / "000_d870e11f8aecef73.txt"
ATLANTICO = SEEDS / "002_42ac76fe60a39ace.txt"


@pytest.fixture(scope="module")
def diploweb():
    return ingest_file(DIPLOWEB)


@pytest.fixture(scope="module")
def atlantico():
    return ingest_file(ATLANTICO)


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


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
    # Citation header, citation line, four appeal blocks, two pull quotes, manuscript date, copyright.
    assert diploweb.dropped == 10
    assert diploweb.comments == ()


def test_diploweb_metadata_card(diploweb):
    meta = citable_passages(diploweb)[-1]
    assert meta.id == "000_d870e11f8aecef73:meta" and meta.kind == "meta"
    assert meta.text == (
        "« Trump et Poutine : les affinités ne font pas une alliance russo-américaine », "
        "article de Cyrille Bret publié le 11 novembre 2016 sur Diploweb.com."
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
    assert atlantico.dropped > 150


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
    path = tmp_path / "herring.txt"
    path.write_text(NORTHERN_COURIER, encoding="utf-8")
    doc = ingest_file(path)
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
    assert doc.dropped >= 30
    assert citable_passages(doc)[-1].text == (
        "“The quiet revival of the Baltic herring fishery”, an article by Jane Morrow published on 3 March 2021."
    )


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
    path = tmp_path / "velo-cargo.html"
    path.write_text(QUOTIDIEN, encoding="utf-8")
    doc = ingest_file(path)
    assert doc.title == "Le vélo-cargo conquiert les artisans lyonnais"
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
    assert doc.dropped >= 10


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


def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ingestion tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def gazette(tmp_path, monkeypatch):
    _no_network(monkeypatch)  # the page names its URL twice: nothing may be fetched
    path = tmp_path / "tidal.html"
    path.write_text(HARBOUR_GAZETTE, encoding="utf-8")
    return ingest_file(path)


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
    assert gazette.dropped >= 10


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
    path = tmp_path / "velo-cargo.html"
    path.write_text(QUOTIDIEN, encoding="utf-8")
    doc = ingest_file(path)
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
    assert lines["shell.html"].endswith("shell.html: no paragraph of article text found")
    assert lines["blank.htm"].endswith("blank.htm: no text found")
    assert all("\n" not in line for line in lines.values())


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


def test_hard_wrapped_markdown_with_footnote_definitions(tmp_path):
    path = tmp_path / "abeilles.md"
    path.write_text(WRAPPED_MARKDOWN, encoding="utf-8")
    doc = ingest_file(path)
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
    path = tmp_path / "glaciers.txt"
    path.write_text(INTERVIEW, encoding="utf-8")
    doc = ingest_file(path)
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
    assert doc.dropped == 0


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
    missing = tmp_path / "nowhere.txt"
    corpus = ingest_paths([tmp_path, missing, tmp_path / "notes.pdf"])
    assert [d.id for d in corpus.documents] == ["good"]
    messages = {Path(i.path).name: i.message for i in corpus.issues}
    assert set(messages) == {"empty.txt", "blank.md", "image.html", "rules.md", "nowhere.txt", "notes.pdf"}
    assert messages["empty.txt"] == "empty file"
    assert messages["blank.md"] == "empty file"
    assert "binary file" in messages["image.html"]
    assert "no paragraph" in messages["rules.md"]
    assert "no such file or folder" in messages["nowhere.txt"]
    assert "unsupported file type '.pdf'" in messages["notes.pdf"] and ".html" in messages["notes.pdf"]
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
    with pytest.raises(IngestError, match=r"data\.csv: unsupported file type '\.csv'; supported: \.txt, \.md, \.html, \.htm"):
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
