"""The words renvoi says to readers, per language, in one table.

Renderers (`rag.render`) write every lead-in, notice, place name and label from
here; the generative prompt takes its abstention sentence from here, so that a
language model's "the documents do not answer" reads as renvoi's. A key a
language lacks falls back to English (so does a language without an entry).
Data and lookups only.
"""

from __future__ import annotations

FALLBACK = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "answer": "D'après les articles :",
        "abstain": "Les articles ne permettent pas de répondre à cette question.",
        "related": "Passages les plus proches (non cités) :",
        "says": "écrit", "answers": "répond", "asks": "demande", "note": "note", "colon": " :",
        "small_talk": "Je réponds aux questions sur les articles en citant leurs paragraphes : posez-en une.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "fiche de l'article", "place.bio": "biographie de l'auteur", "place.lead": "chapô",
        "place.comment": "commentaire",
        "sources": "Sources", "notes": "Notes", "no_date": "s.d.",
        "quoted": "« {} »",
        "page.related": "Passages proches — non cités", "page.open": "Afficher ce paragraphe dans son contexte",
        "page.hits": "Passages retrouvés et leurs scores", "page.rank": "rang", "page.doc": "document",
        "page.where": "où", "page.fused": "fusionné", "page.dense": "dense", "page.bm25": "BM25",
        "page.sentence": "meilleure phrase",
        "page.generated": "Réponse rédigée par un modèle de langue ; chaque phrase a été vérifiée dans ses sources.",
        "page.writing": "Rédaction en cours… les citations seront vérifiées à la fin.",
        "page.dropped": "Retiré par la vérification des citations",
        "page.fallback": "La réponse rédigée n'avait aucune citation vérifiable : voici les citations exactes.",
        "page.empty": "Écrivez d'abord une question.",
        "page.truncated": "Votre question a été coupée de {n} à {max} caractères.",
        "page.failed": "Désolé, cette question n'a pas pu être traitée ({error}).",
        "page.gone": "Cette source n'est plus dans l'index.",
        "page.placeholder": "Cliquez sur un renvoi [n] ou une source sous une réponse (ou choisissez-en une "
                            "ci-dessus) pour lire le paragraphe cité dans son contexte.",
    },
    "en": {
        "answer": "According to the articles (quoted in French):",
        "abstain": "The articles do not answer this question.",
        "related": "Closest passages (not cited):",
        "says": "writes", "answers": "answers", "asks": "asks", "note": "note", "colon": ":",
        "small_talk": "I answer questions about the articles, quoting their paragraphs: ask one.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "article details", "place.bio": "author biography", "place.lead": "lead",
        "place.comment": "comment",
        "sources": "Sources", "notes": "Notes", "no_date": "n.d.",
        "quoted": "“{}”",
        "page.related": "Related passages — not cited", "page.open": "Show this paragraph in context",
        "page.hits": "Retrieved passages and their scores", "page.rank": "rank", "page.doc": "document",
        "page.where": "where", "page.fused": "fused", "page.dense": "dense", "page.bm25": "BM25",
        "page.sentence": "best sentence",
        "page.generated": "Written by a language model; every sentence was checked against its sources.",
        "page.writing": "Writing… citations are checked when the answer is complete.",
        "page.dropped": "Removed by the citation check",
        "page.fallback": "The written answer had no verifiable citation: here are the exact quotes instead.",
        "page.empty": "Please type a question first.",
        "page.truncated": "Your question was truncated from {n} to {max} characters.",
        "page.failed": "Sorry, this question could not be answered ({error}).",
        "page.gone": "This source is no longer in the index.",
        "page.placeholder": "Click a marker [n] or a source under an answer (or pick one above) to read "
                            "the cited paragraph in its context.",
    },
    # Only what references and exports say (rag.render.cite, rag.render.markdown);
    # the rest of these tables is English until it is written.
    "de": {
        "note": "Anmerkung", "colon": ":", "paragraph": "¶", "page": "S.", "no_date": "o. J.",
        "quoted": "„{}“", "sources": "Quellen", "notes": "Anmerkungen",
        "place.meta": "Angaben zum Artikel", "place.bio": "Biografie des Autors", "place.lead": "Vorspann",
        "place.comment": "Kommentar",
    },
    "es": {
        "note": "nota", "colon": ":", "paragraph": "¶", "page": "p.", "no_date": "s. f.",
        "quoted": "«{}»", "sources": "Fuentes", "notes": "Notas",
        "place.meta": "ficha del artículo", "place.bio": "biografía del autor", "place.lead": "entradilla",
        "place.comment": "comentario",
    },
    "it": {
        "note": "nota", "colon": ":", "paragraph": "¶", "page": "p.", "no_date": "s.d.",
        "quoted": "«{}»", "sources": "Fonti", "notes": "Note",
        "place.meta": "scheda dell'articolo", "place.bio": "biografia dell'autore", "place.lead": "sommario",
        "place.comment": "commento",
    },
    "pt": {
        "note": "nota", "colon": ":", "paragraph": "¶", "page": "p.", "no_date": "s.d.",
        "quoted": "“{}”", "sources": "Fontes", "notes": "Notas",
        "place.meta": "ficha do artigo", "place.bio": "biografia do autor", "place.lead": "lide",
        "place.comment": "comentário",
    },
}

# The languages renvoi has words in (those a reader can choose, e.g. `cite --lang`).
LANGUAGES = tuple(MESSAGES)
# Each table completed by English, once.
_TABLES = {lang: {**MESSAGES[FALLBACK], **table} for lang, table in MESSAGES.items()}


def words(lang: str) -> dict[str, str]:
    """The message table of `lang`, each missing word (or the whole table) in English."""
    return _TABLES.get(lang) or _TABLES[FALLBACK]


def say(lang: str, key: str) -> str:
    return words(lang)[key]
