"""The outputs of `renvoi eval`: a terminal summary, report.md, results.json and charts.

`print_summary` draws rich tables; `write_report` writes into one folder
`report.md` (failing questions first, each with what was expected and what
came back, then the metric tables), `results.json` (one record per question
plus the summaries) and two PNG charts drawn with matplotlib's Agg backend
(Hit@k curves of the retrievers, latency histogram). The Markdown and
JSON are built by pure functions (`report_markdown`, `results_payload`).
This module computes no metric itself; it reads an `EvalOutcome`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from .evaluate import (
    ANSWER_METRICS,
    CURVE_MAX_K,
    MODES,
    PASS_AT_K,
    REPORT_SPLITS,
    RETRIEVERS,
    EvalOutcome,
    QuestionResult,
    citation_precision,
    citation_recall,
    failed_checks,
    first_gold_rank,
    footnote_scores,
    key_fact_coverage,
    key_facts_found,
    question_checks,
    split_results,
)

RETRIEVAL_COLUMNS = (("hit_at_1", "Hit@1"), ("hit_at_3", "Hit@3"), ("hit_at_5", "Hit@5"),
                     ("mrr_at_10", "MRR@10"), ("ndcg_at_10", "nDCG@10"))
ANSWER_LABELS = {
    "key_fact_coverage": "key-fact coverage",
    "citation_precision": "citation precision",
    "citation_recall": "citation recall",
    "footnote_precision": "footnote precision",
    "footnote_recall": "footnote recall",
    "footnote_f1": "footnote F1 (mean per question)",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall",
    "answerable_abstained": "answerable abstained (lower is better)",
    "support_verbatim": "cited sentences supported verbatim",
    "support": "cited sentences supported (verbatim or similarity, approx.)",
    "alce_citation_recall": "ALCE citation recall (NLI model)",
    "alce_citation_precision": "ALCE citation precision (NLI model)",
}
LATENCY_ROWS = (("search", "search, all modes"), *((f"search_{m}", f"search, {m}") for m in RETRIEVERS),
                ("ask", "ask"))
MODE_STYLE = {"hybrid": ("tab:blue", "-", "o"), "dense": ("tab:orange", "--", "s"), "bm25": ("tab:green", ":", "^"),
              "rerank": ("tab:purple", "-.", "D")}
REPORT_FILES = ("report.md", "results.json", "hit_at_k.png", "latency.png")


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# ---------------------------------------------------------------- per question


def question_payload(r: QuestionResult) -> dict:
    """The results.json record of one question."""
    q, a = r.question, r.answer
    checks = question_checks(r)
    record: dict = {
        "id": q.id,
        "question": q.question,
        "lang": q.lang,
        "kind": q.kind,
        "split": q.split,
        "answerable": q.answerable,
        "followup_of": q.followup_of,
        "retrieval_query": r.retrieval_query,
        "expected": {
            "gold": [{"doc_id": g.doc_id, "quote": g.quote} for g in q.gold],
            "gold_ids": [list(group) for group in r.gold],
            "key_facts": list(q.key_facts),
            "footnotes": list(q.footnotes),
        },
        "retrieved": {mode: list(r.retrieved.get(mode, ())) for mode in _measured(r)},
        "first_gold_rank": {mode: first_gold_rank(r.retrieved.get(mode, ()), r.gold_ids) if r.gold else None
                            for mode in _measured(r)},
        "answer": None if a is None else a.text,
        "abstained": None if a is None else a.abstained,
        "citations": [] if a is None else [
            {"marker": c.marker, "passage_id": c.passage_id, "doc_id": c.doc_id, "quote": c.quote,
             "footnotes": list(c.footnotes)}
            for c in a.citations
        ],
        "scores": {},
        "support": [
            {"sentence": s.sentence, "markers": list(s.markers), "verbatim": s.verbatim,
             "similarity": None if s.similarity is None else round(s.similarity, 4), "supported": s.supported}
            for s in r.support
        ],
        "checks": checks,
        "passed": not failed_checks(checks),
        "latency_ms": {
            "search": {m: round(v, 2) for m, v in r.search_ms.items()},
            "ask": None if r.ask_ms is None else round(r.ask_ms, 2),
        },
        "errors": list(r.errors),
    }
    if a is not None:
        cited = [c.passage_id for c in a.citations]
        fs = footnote_scores([n for c in a.citations for n in c.footnotes], q.footnotes)
        record["scores"] = {
            "key_fact_coverage": key_fact_coverage(a, q.key_facts) if q.answerable else None,
            "citation_precision": citation_precision(cited, r.gold) if q.answerable and r.gold and not a.abstained else None,
            "citation_recall": citation_recall(cited, r.gold) if q.answerable and not a.abstained else None,
            "footnote_f1": None if fs is None else fs[2],
        }
    if r.alce is not None:
        record["alce"] = {"recall": round(r.alce.recall, 4), "precision": round(r.alce.precision, 4),
                          "statements": r.alce.statements, "citations": r.alce.citations}
    return record


def _measured(r: QuestionResult) -> tuple[str, ...]:
    """The retrievers measured on a question: the three modes, and "rerank" with a reranker."""
    return RETRIEVERS if "rerank" in r.retrieved else MODES


def results_payload(outcome: EvalOutcome) -> dict:
    """The whole results.json: run facts, summaries per split, bars, data errors, questions."""
    return {
        "info": outcome.info,
        "summary": outcome.summaries,
        "thresholds": [
            {"metric": c.threshold.metric, "bar": c.threshold.value, "upper": c.threshold.upper,
             "value": c.value, "status": c.status}
            for c in outcome.checks
        ],
        "data_errors": [{"question_id": e.question_id, "severity": e.severity, "message": e.message}
                        for e in outcome.data_errors],
        "questions": [question_payload(r) for r in outcome.results],
    }


def _md_quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines()) or "> (empty)"


def _ids(ids: Sequence[str], gold: frozenset[str], n: int) -> str:
    shown = [f"**`{i}`**" if i in gold else f"`{i}`" for i in ids[:n]]
    return ", ".join(shown) if shown else "(nothing)"


def failing_question_md(r: QuestionResult) -> str:
    """The report section of one failing question: what was expected, what came back."""
    q, a = r.question, r.answer
    failed = failed_checks(question_checks(r))
    head = f"### `{q.id}` — {q.question}"
    meta = f"{q.kind} · {q.lang} · {q.split} · {'answerable' if q.answerable else 'unanswerable'}"
    if q.followup_of:
        meta += f" · follows `{q.followup_of}`"
    lines = [head, "", meta + f" · **failed: {', '.join(failed)}**", "", "Expected:"]
    if q.answerable:
        for g in q.gold:
            lines.append(f"- quote ({g.doc_id}): «{g.quote}»")
        ids = "; ".join(", ".join(f"`{i}`" for i in group) for group in r.gold)
        lines.append(f"- gold passages: {ids or '(none found: see data errors)'}")
        if q.key_facts:
            lines.append(f"- key facts: {'; '.join(q.key_facts)}")
    else:
        lines.append("- abstention (the articles do not answer this)")
    if q.footnotes:
        lines.append(f"- footnotes: {', '.join(map(str, q.footnotes))}")
    lines += ["", "Got:"]
    if r.retrieval_query != q.question:
        lines.append(f"- resolved question: {r.retrieval_query}")
    for mode in _measured(r):
        ids = r.retrieved.get(mode, ())
        rank = first_gold_rank(ids, r.gold_ids) if r.gold else None
        where = "" if not r.gold else (f" (first gold at rank {rank})" if rank else " (no gold retrieved)")
        lines.append(f"- {mode} top {PASS_AT_K}: {_ids(ids, r.gold_ids, PASS_AT_K)}{where}")
    if a is None:
        lines.append("- answer: not available")
    else:
        lines.append(f"- answer{' (abstained)' if a.abstained else ''}:")
        lines += ["", _md_quote(a.text), ""]
        for c in a.citations:
            notes = f" · notes {', '.join(map(str, c.footnotes))}" if c.footnotes else ""
            gold_mark = " ✓" if c.passage_id in r.gold_ids else ""
            lines.append(f"- [{c.marker}] `{c.passage_id}`{gold_mark}: «{c.quote}»{notes}")
        if q.answerable and q.key_facts:
            missing = [f for f in q.key_facts if f not in key_facts_found(a, q.key_facts)]
            if missing:
                lines.append(f"- key facts missing: {'; '.join(missing)}")
        for s in r.support:
            if not s.supported:
                sim = "" if s.similarity is None else f" (best similarity {s.similarity:.2f})"
                lines.append(f"- unsupported sentence {list(s.markers)}{sim}: {s.sentence}")
    for e in r.errors:
        lines.append(f"- error: {e}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- metric tables


def retrieval_table_md(summaries: Mapping[str, Mapping]) -> str:
    head = "| split | retriever | n | " + " | ".join(label for _, label in RETRIEVAL_COLUMNS) + " |"
    rows = [head, "|" + "---|" * (3 + len(RETRIEVAL_COLUMNS))]
    for split in REPORT_SPLITS:
        s = summaries[split]
        for mode, m in s["retrieval"].items():
            cells = " | ".join(fmt(m[key]) for key, _ in RETRIEVAL_COLUMNS)
            rows.append(f"| {split} | {mode} | {s['counts']['scored_retrieval']} | {cells} |")
    return "\n".join(rows) + "\n"


def answers_table_md(summaries: Mapping[str, Mapping]) -> str:
    rows = ["| metric | " + " | ".join(REPORT_SPLITS) + " |", "|---|" + "---:|" * len(REPORT_SPLITS)]
    for name in ANSWER_METRICS:
        rows.append(f"| {ANSWER_LABELS[name]} | " + " | ".join(fmt(summaries[s]["answers"][name]) for s in REPORT_SPLITS) + " |")
    return "\n".join(rows) + "\n"


def latency_table_md(summaries: Mapping[str, Mapping]) -> str:
    lat = summaries["all"]["latency"]
    rows = ["| call | p50 (ms) | p95 (ms) |", "|---|---:|---:|"]
    for key, label in _latency_rows(lat):
        rows.append(f"| {label} | {fmt(lat[f'{key}_p50_ms'], 1)} | {fmt(lat[f'{key}_p95_ms'], 1)} |")
    return "\n".join(rows) + "\n"


def _latency_rows(latency: Mapping) -> list[tuple[str, str]]:
    """The latency rows to show: every call, the reranked search only when it was measured."""
    return [(key, label) for key, label in LATENCY_ROWS
            if key != "search_rerank" or latency.get("search_rerank_p50_ms") is not None]


def report_markdown(outcome: EvalOutcome) -> str:
    """report.md: failing questions first, then data errors, bars, metric tables, charts."""
    info, s_all = outcome.info, outcome.summaries["all"]
    counts = s_all["counts"]
    failing = outcome.failing
    failing_ids = {r.question.id for r in failing}
    n_tune = outcome.summaries["tune"]["counts"]["questions"]
    n_held = outcome.summaries["heldout"]["counts"]["questions"]
    facts = [f"{counts['questions']} questions ({n_tune} tune, {n_held} held-out)"
             + (f" from `{info['questions']}`" if info.get("questions") else ""),
             f"{len(failing)} failing"]
    facts += [f"model `{info['model']}`" + (f" on {info['backend']}" if info.get("backend") else "")] \
        if info.get("model") else []
    facts += [f"retrieval depth k={info['k']}"] if info.get("k") else []
    facts += [str(info["date"])] if info.get("date") else []
    facts += [f"run took {info['duration_s']:.1f} s"] if info.get("duration_s") is not None else []
    parts = ["# renvoi evaluation\n", "; ".join(facts) + ".\n"]
    parts += [f"Note: {n}\n" for n in info.get("notes", ())]
    if info.get("answers_unavailable"):
        parts.append(f"**Answers not available** ({info['answers_unavailable']}): answer metrics are n/a.\n")
    below = outcome.below_bar
    if outcome.checks:
        parts.append(
            f"Bars ({info.get('threshold_split', 'all')} questions): "
            + (f"**{len(below)} below**." if below else "all met.") + "\n"
        )
    parts.append(f"## Failing questions ({len(failing)})\n")
    if not failing:
        parts.append("None.\n")
    parts += [failing_question_md(r) for r in failing]
    if outcome.data_errors:
        parts.append(f"## Data errors in the question file ({len(outcome.data_errors)})\n")
        parts += [f"- `{e.question_id}` ({e.severity}): {e.message}" for e in outcome.data_errors]
        parts.append("")
    if outcome.checks:
        parts.append("## Bars (eval/thresholds.toml)\n")
        parts += [f"- {c.status.upper()}: {c.line()}" for c in outcome.checks]
        parts.append("")
    parts += [
        "## Retrieval\n",
        "Over answerable questions with gold passages, computed with ranx; a question counts as a hit "
        "when any passage containing one of its gold quotes is retrieved.\n",
        retrieval_table_md(outcome.summaries),
        "![Hit@k of the retrievers](hit_at_k.png)\n",
        "## Answers\n",
        answers_table_md(outcome.summaries),
        _ANSWER_NOTES,
        "## Latency\n",
        "Wall-clock time around each call of the loaded pipeline (model already loaded). Each question is "
        "asked first, then searched in each mode; each call embeds the question itself (bm25 mode needs no "
        "embedding).\n",
        latency_table_md(outcome.summaries),
        "![Latency of search and ask](latency.png)\n",
        "## Passing questions\n",
        ", ".join(f"`{r.question.id}`" for r in outcome.results if r.question.id not in failing_ids) or "None.",
        "",
    ]
    return "\n".join(parts)


_ANSWER_NOTES = """\
How these are computed: key-fact coverage is the share of key facts found (ignoring case, accents,
typographic quotes) in the answer, its citations' quotes or their notes, over answerable questions. Citation
precision is the share of cited passages that are gold, citation recall the share of gold documents
with a gold passage cited, both over answerable questions that were answered. Footnote precision and
recall compare the footnote numbers of the cited passages with the expected ones, averaged over
answered questions that expect footnotes; F1 is the mean of per-question F1. Abstention counts
abstaining as the positive class and unanswerable questions as the relevant ones. Support is
ALCE-style: a sentence carrying markers is supported when its quoted text is contained verbatim in a
passage it cites; otherwise, when a similarity function is available, when its embedding
similarity to a cited passage reaches the threshold. That second test is an approximation of
entailment, not a check of it.
"""


# ---------------------------------------------------------------- charts


def plot_hit_curves(curves: Mapping[str, Sequence[float]], path: Path, title: str = "Hit@k") -> Path:
    """Hit@k for k = 1..len(curve) of each retriever on one chart (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        for mode, ys in curves.items():
            if not ys:
                continue
            color, style, marker = MODE_STYLE.get(mode, (None, "-", "o"))
            ax.plot(range(1, len(ys) + 1), ys, label=mode, color=color, linestyle=style, marker=marker)
        ax.set_xlabel("k (passages retrieved)")
        ax.set_ylabel("Hit@k (share with a gold passage in the top k)")
        ax.set_title(title)
        ax.set_xticks(range(1, CURVE_MAX_K + 1))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(title="retriever", loc="lower right")
        else:
            ax.text(0.5, 0.5, "no answerable question with gold passages", ha="center", transform=ax.transAxes)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def plot_latency(search_ms: Sequence[float], ask_ms: Sequence[float], path: Path) -> Path:
    """Histogram of search and ask wall-clock times on a log scale (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        values = [v for v in (*search_ms, *ask_ms) if v > 0]
        if values:
            lo, hi = min(values), max(values)
            # Search and ask differ by orders of magnitude; log bins keep both readable.
            bins = np.geomspace(lo * 0.9, hi * 1.1, 30) if hi > lo else 10
            for label, xs, color in (("search (all modes)", search_ms, "tab:blue"), ("ask", ask_ms, "tab:red")):
                xs = [v for v in xs if v > 0]
                if xs:
                    ax.hist(xs, bins=bins, alpha=0.6, label=f"{label} (n={len(xs)})", color=color)
            if hi > lo:
                from matplotlib.ticker import ScalarFormatter

                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.legend()
        else:
            ax.text(0.5, 0.5, "no timing recorded", ha="center", transform=ax.transAxes)
        ax.set_xlabel("wall-clock time per call (ms)")
        ax.set_ylabel("number of calls")
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Latency of search and ask")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


# ---------------------------------------------------------------- writing and printing


def write_report(outcome: EvalOutcome, out_dir: Path) -> list[Path]:
    """Write report.md, results.json, hit_at_k.png and latency.png into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js, hits, lat = (out_dir / name for name in REPORT_FILES)
    md.write_text(report_markdown(outcome), encoding="utf-8")
    js.write_text(json.dumps(results_payload(outcome), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    plot_hit_curves(outcome.summaries["all"]["hit_curve"], hits,
                    title=f"Hit@k of the retrievers ({outcome.summaries['all']['counts']['scored_retrieval']} questions)")
    plot_latency([v for r in outcome.results for v in r.search_ms.values()],
                 [r.ask_ms for r in outcome.results if r.ask_ms is not None], lat)
    return [md, js, hits, lat]


def print_summary(outcome: EvalOutcome, console=None) -> None:
    """Rich tables of retrieval, answers and latency, then bars, failures, data errors."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    s = outcome.summaries
    t = Table(title="Retrieval (answerable questions)")
    for col in ("split", "retriever", "n", *(label for _, label in RETRIEVAL_COLUMNS)):
        t.add_column(col, justify="left" if col in ("split", "retriever") else "right")
    for split in REPORT_SPLITS:
        modes = list(s[split]["retrieval"])
        for i, mode in enumerate(modes):
            m = s[split]["retrieval"][mode]
            t.add_row(split if i == 0 else "", mode, str(s[split]["counts"]["scored_retrieval"]),
                      *(fmt(m[key]) for key, _ in RETRIEVAL_COLUMNS), end_section=i == len(modes) - 1)
    console.print(t)
    t = Table(title="Answers")
    t.add_column("metric")
    for split in REPORT_SPLITS:
        t.add_column(split, justify="right")
    for name in ANSWER_METRICS:
        t.add_row(ANSWER_LABELS[name], *(fmt(s[split]["answers"][name]) for split in REPORT_SPLITS))
    console.print(t)
    t = Table(title="Latency (ms)")
    for col in ("call", "p50", "p95"):
        t.add_column(col, justify="left" if col == "call" else "right")
    lat = s["all"]["latency"]
    for key, label in _latency_rows(lat):
        t.add_row(label, fmt(lat[f"{key}_p50_ms"], 1), fmt(lat[f"{key}_p95_ms"], 1))
    console.print(t)
    if outcome.info.get("answers_unavailable"):
        console.print(f"[yellow]answers not available: {outcome.info['answers_unavailable']}[/]")
    ingestion = s["all"].get("ingestion")
    if ingestion:
        console.print("Ingestion: " + ", ".join(f"{label} {fmt(ingestion.get(key))}" for label, key in INGESTION_COLUMNS),
                      highlight=False)
    for c in outcome.checks:
        style = {"pass": "green", "fail": "red", "missing": "yellow"}[c.status]
        console.print(f"[{style}]{c.status.upper():7}[/] {c.line()}", highlight=False)
    errors = [e for e in outcome.data_errors if e.severity == "error"]
    console.print(
        f"{len(outcome.failing)} of {len(outcome.results)} questions failing; "
        f"{len(errors)} data errors, {len(outcome.data_errors) - len(errors)} warnings",
        highlight=False,
    )


# ---------------------------------------------------------------- several corpora

OVERVIEW_COLUMNS = (
    ("Hit@5", ("retrieval", "hybrid", "hit_at_5")), ("MRR@10", ("retrieval", "hybrid", "mrr_at_10")),
    ("key facts", ("answers", "key_fact_coverage")), ("cited paragraph", ("answers", "citation_recall")),
    ("precision", ("answers", "citation_precision")), ("abstained (unanswerable)", ("answers", "abstention_recall")),
    ("abstained (answerable)", ("answers", "answerable_abstained")),
)
INGESTION_COLUMNS = (("quotes kept", "gold_quotes_in_one_passage"), ("content kept", "content_sentences_kept"),
                     ("furniture leaked", "furniture_blocks_leaked"))


def _value(summary: Mapping, path: Sequence[str]) -> float | None:
    value = summary
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def overview_rows(outcomes: Mapping[str, EvalOutcome]) -> list[list[str]]:
    """One row per corpus and split: the headline metrics, then what ingestion kept."""
    rows = []
    for name, o in outcomes.items():
        for split in REPORT_SPLITS:
            s = o.summaries[split]
            ingestion = s.get("ingestion") or {}
            rows.append([name if split == "all" else "", split, str(len(split_results(o.results, split))),
                         *(fmt(_value(s, path)) for _, path in OVERVIEW_COLUMNS),
                         *(fmt(ingestion.get(key)) if split == "all" else "" for _, key in INGESTION_COLUMNS)])
    return rows


def _overview_header() -> list[str]:
    return ["corpus", "split", "questions", *(label for label, _ in OVERVIEW_COLUMNS),
            *(label for label, _ in INGESTION_COLUMNS)]


def write_overview(outcomes: Mapping[str, EvalOutcome], out_dir: Path) -> Path:
    """out_dir/report.md: the headline figures of every corpus side by side, and the bars missed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = _overview_header()
    lines = ["# renvoi evaluation: every corpus", "",
             "Each corpus has its own report in the folder of its name. Retrieval is the hybrid retriever.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in overview_rows(outcomes)]
    missed = [(name, c) for name, o in outcomes.items() for c in o.below_bar]
    lines += ["", "## Bars", ""] + ([f"- below bar ({name}): {c.line()}" for name, c in missed] or ["- all bars met"])
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def print_overview(outcomes: Mapping[str, EvalOutcome], console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title="Every corpus")
    for col in _overview_header():
        t.add_column(col, justify="left" if col in ("corpus", "split") else "right")
    for row in overview_rows(outcomes):
        t.add_row(*row, end_section=row[1] == "heldout")
    console.print(t)
