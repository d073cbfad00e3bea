"""The words renvoi says to readers, per language, in one table.

Renderers (`rag.render`) write every lead-in, notice, place name and label from
here; the generative prompt takes its abstention sentence from here, so that a
language model's "the documents do not answer" reads as renvoi's. French,
English, German, Spanish, Italian and Portuguese are written out; any other
language falls back to English. Language names and dates come from Babel.
Data and lookups only.
"""

from __future__ import annotations

FALLBACK = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "card.article": "article", "card.interview": "entretien", "card.document": "document",
        "card.by": " de {names}", "card.with": " avec {names}", "card.dated": " publié le {date}",
        "card.site": " sur {site}", "card.site_only": " publié sur {site}",
        "answer": "D'après les documents :",
        "answer.quoted": "D'après les documents (cités en {language}) :",
        "abstain": "Les documents ne permettent pas de répondre à cette question.",
        "related": "Passages les plus proches (non cités) :",
        "says": "écrit", "answers": "répond", "asks": "demande", "note": "note", "colon": " :",
        "small_talk": "Je réponds aux questions sur les documents en citant leurs paragraphes : posez-en une.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "fiche du document", "place.bio": "biographie de l'auteur", "place.lead": "chapô",
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
        "page.cite": "Citer", "page.cite.title": "Copier la référence de cette source",
        "page.ask": "par ex. {question}", "page.example.about": "Que disent les documents sur « {topic} » ?",
        "page.example.who": "Qui a écrit « {title} », et quand ?",
        "page.truncated": "Votre question a été coupée de {n} à {max} caractères.",
        "page.failed": "Désolé, cette question n'a pas pu être traitée ({error}).",
        "page.gone": "Cette source n'est plus dans l'index.",
        "page.placeholder": "Cliquez sur un renvoi [n] ou une source sous une réponse (ou choisissez-en une "
                            "ci-dessus) pour lire le paragraphe cité dans son contexte.",
    },
    "en": {
        "card.article": "an article", "card.interview": "an interview", "card.document": "a document",
        "card.by": " by {names}", "card.with": " with {names}", "card.dated": " published on {date}",
        "card.site": " on {site}", "card.site_only": " published on {site}",
        "answer": "According to the documents:",
        "answer.quoted": "According to the documents (quoted in {language}):",
        "abstain": "The documents do not answer this question.",
        "related": "Closest passages (not cited):",
        "says": "writes", "answers": "answers", "asks": "asks", "note": "note", "colon": ":",
        "small_talk": "I answer questions about the documents, quoting their paragraphs: ask one.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "document details", "place.bio": "author biography", "place.lead": "lead",
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
        "page.cite": "Cite", "page.cite.title": "Copy the reference of this source",
        "page.ask": "e.g. {question}", "page.example.about": "What do the documents say about “{topic}”?",
        "page.example.who": "Who wrote “{title}”, and when?",
        "page.truncated": "Your question was truncated from {n} to {max} characters.",
        "page.failed": "Sorry, this question could not be answered ({error}).",
        "page.gone": "This source is no longer in the index.",
        "page.placeholder": "Click a marker [n] or a source under an answer (or pick one above) to read "
                            "the cited paragraph in its context.",
    },
    "de": {
        "card.article": "Artikel", "card.interview": "Interview", "card.document": "Dokument",
        "card.by": " von {names}", "card.with": " mit {names}", "card.dated": ", veröffentlicht am {date}",
        "card.site": " auf {site}", "card.site_only": ", veröffentlicht auf {site}",
        "answer": "Laut den Dokumenten:",
        "answer.quoted": "Laut den Dokumenten (zitiert auf {language}):",
        "abstain": "Die Dokumente beantworten diese Frage nicht.",
        "related": "Nächstliegende Passagen (nicht zitiert):",
        "says": "schreibt", "answers": "antwortet", "asks": "fragt", "note": "Anmerkung", "colon": ":",
        "small_talk": "Ich beantworte Fragen zu den Dokumenten und zitiere ihre Absätze: Stellen Sie eine.",
        "paragraph": "¶", "page": "S.",
        "place.meta": "Angaben zum Dokument", "place.bio": "Biografie des Autors", "place.lead": "Vorspann",
        "place.comment": "Kommentar",
        "sources": "Quellen", "notes": "Anmerkungen", "no_date": "o. J.",
        "quoted": "„{}“",
        "page.related": "Verwandte Passagen — nicht zitiert", "page.open": "Diesen Absatz im Zusammenhang zeigen",
        "page.empty": "Bitte zuerst eine Frage eingeben.",
        "page.cite": "Zitieren", "page.cite.title": "Die Quellenangabe kopieren",
        "page.ask": "z. B. {question}", "page.example.about": "Was sagen die Dokumente über „{topic}“?",
        "page.example.who": "Wer hat „{title}“ geschrieben, und wann?",
        "page.fallback": "Die geschriebene Antwort hatte kein überprüfbares Zitat: hier die wörtlichen Zitate.",
        "page.generated": "Von einem Sprachmodell geschrieben; jeder Satz wurde an seinen Quellen geprüft.",
    },
    "es": {
        "card.article": "artículo", "card.interview": "entrevista", "card.document": "documento",
        "card.by": " de {names}", "card.with": " con {names}", "card.dated": " publicado el {date}",
        "card.site": " en {site}", "card.site_only": " publicado en {site}",
        "answer": "Según los documentos:",
        "answer.quoted": "Según los documentos (citados en {language}):",
        "abstain": "Los documentos no responden a esta pregunta.",
        "related": "Pasajes más cercanos (no citados):",
        "says": "escribe", "answers": "responde", "asks": "pregunta", "note": "nota", "colon": ":",
        "small_talk": "Respondo preguntas sobre los documentos citando sus párrafos: haga una.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "ficha del documento", "place.bio": "biografía del autor", "place.lead": "entradilla",
        "place.comment": "comentario",
        "sources": "Fuentes", "notes": "Notas", "no_date": "s. f.",
        "quoted": "«{}»",
        "page.related": "Pasajes relacionados — no citados", "page.open": "Mostrar este párrafo en su contexto",
        "page.empty": "Escriba primero una pregunta.",
        "page.cite": "Citar", "page.cite.title": "Copiar la referencia de esta fuente",
        "page.ask": "p. ej. {question}", "page.example.about": "¿Qué dicen los documentos sobre «{topic}»?",
        "page.example.who": "¿Quién escribió «{title}», y cuándo?",
        "page.fallback": "La respuesta redactada no tenía ninguna cita verificable: estas son las citas exactas.",
        "page.generated": "Redactado por un modelo de lenguaje; cada frase se verificó en sus fuentes.",
    },
    "it": {
        "card.article": "articolo", "card.interview": "intervista", "card.document": "documento",
        "card.by": " di {names}", "card.with": " con {names}", "card.dated": " pubblicato il {date}",
        "card.site": " su {site}", "card.site_only": " pubblicato su {site}",
        "answer": "Secondo i documenti:",
        "answer.quoted": "Secondo i documenti (citati in {language}):",
        "abstain": "I documenti non rispondono a questa domanda.",
        "related": "Passaggi più vicini (non citati):",
        "says": "scrive", "answers": "risponde", "asks": "chiede", "note": "nota", "colon": ":",
        "small_talk": "Rispondo a domande sui documenti citandone i paragrafi: fatene una.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "scheda del documento", "place.bio": "biografia dell'autore", "place.lead": "occhiello",
        "place.comment": "commento",
        "sources": "Fonti", "notes": "Note", "no_date": "s.d.",
        "quoted": "«{}»",
        "page.related": "Passaggi correlati — non citati", "page.open": "Mostra questo paragrafo nel contesto",
        "page.empty": "Scrivere prima una domanda.",
        "page.cite": "Cita", "page.cite.title": "Copia il riferimento di questa fonte",
        "page.ask": "ad es. {question}", "page.example.about": "Che cosa dicono i documenti su «{topic}»?",
        "page.example.who": "Chi ha scritto «{title}», e quando?",
        "page.fallback": "La risposta scritta non aveva citazioni verificabili: ecco le citazioni esatte.",
        "page.generated": "Scritto da un modello linguistico; ogni frase è stata verificata sulle sue fonti.",
    },
    "pt": {
        "card.article": "artigo", "card.interview": "entrevista", "card.document": "documento",
        "card.by": " de {names}", "card.with": " com {names}", "card.dated": " publicado em {date}",
        "card.site": " em {site}", "card.site_only": " publicado em {site}",
        "answer": "Segundo os documentos:",
        "answer.quoted": "Segundo os documentos (citados em {language}):",
        "abstain": "Os documentos não respondem a esta pergunta.",
        "related": "Passagens mais próximas (não citadas):",
        "says": "escreve", "answers": "responde", "asks": "pergunta", "note": "nota", "colon": ":",
        "small_talk": "Respondo a perguntas sobre os documentos citando os seus parágrafos: faça uma.",
        "paragraph": "¶", "page": "p.",
        "place.meta": "ficha do documento", "place.bio": "biografia do autor", "place.lead": "lide",
        "place.comment": "comentário",
        "sources": "Fontes", "notes": "Notas", "no_date": "s.d.",
        "quoted": "“{}”",
        "page.related": "Passagens relacionadas — não citadas", "page.open": "Mostrar este parágrafo no contexto",
        "page.empty": "Escreva primeiro uma pergunta.",
        "page.cite": "Citar", "page.cite.title": "Copiar a referência desta fonte",
        "page.ask": "p. ex. {question}", "page.example.about": "O que dizem os documentos sobre «{topic}»?",
        "page.example.who": "Quem escreveu «{title}», e quando?",
        "page.fallback": "A resposta redigida não tinha nenhuma citação verificável: eis as citações exatas.",
        "page.generated": "Redigido por um modelo de linguagem; cada frase foi verificada nas suas fontes.",
    },
}
SPOKEN = tuple(MESSAGES)

# The languages renvoi has words in (those a reader can choose, e.g. `cite --lang`).
LANGUAGES = tuple(MESSAGES)
# Each table completed by English, once.
_TABLES = {lang: {**MESSAGES[FALLBACK], **table} for lang, table in MESSAGES.items()}


def words(lang: str) -> dict[str, str]:
    """The message table of `lang`: its own words, English where it has none."""
    own = MESSAGES.get(lang)
    return {**MESSAGES[FALLBACK], **own} if own is not None else MESSAGES[FALLBACK]


def say(lang: str, key: str, **values) -> str:
    text = words(lang)[key]
    return text.format(**values) if values else text


def language_name(code: str, lang: str) -> str:
    """The name of language `code` in language `lang` ("allemand", "German"), from Babel."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang).languages.get(code) or code
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK).languages.get(code) or code
