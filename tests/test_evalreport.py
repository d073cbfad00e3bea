"""Tests of rag.evalreport and the `renvoi eval` command: what report.md,
results.json and the charts contain, and the exit code of `--check`, with a
small fake pipeline instead of the real model."""

from __future__ import annotations

import json
import re
import struct

import pytest

from rag import cli
from rag.evalreport import print_summary, report_markdown, write_report
from rag.evaluate import AnswerRecord, CitedPassage, EvalQuestion, GoldQuote, QuestionResult, normalise, outcome
from rag.records import Answer, Citation, Claim, Document, Hit, Paragraph, Span


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def make_results() -> list[QuestionResult]:
    good_q = EvalQuestion("q1", "Où sont les traboules ?", "fr", "fact", "tune", True,
                          (GoldQuote("a", "traboules"),), key_facts=("traboules",))
    bad_q = EvalQuestion("q2", "Which glacier melts?", "en", "fact", "heldout", True,
                         (GoldQuote("b", "glacier du Rhône"),), key_facts=("Rhône",), footnotes=(4,))
    none_q = EvalQuestion("q3", "Quel temps fera-t-il ?", "fr", "unanswerable", "tune", False)
    good = AnswerRecord("« Lyon est connue pour ses traboules. » [1]", False,
                        (CitedPassage(1, "a:p3", "a", "Lyon est connue pour ses traboules.",
                                      "Lyon est connue pour ses traboules."),))
    bad = AnswerRecord("« Marseille accueille des cargos. » [1]", False,
                       (CitedPassage(1, "a:p1", "a", "Marseille accueille des cargos.", "Marseille accueille des cargos."),))
    modes = ("hybrid", "dense", "bm25")
    return [
        QuestionResult(good_q, (("a:p3",),), {m: ("a:p3", "a:p1") for m in modes}, {m: 10.0 + i for i, m in enumerate(modes)},
                       good_q.question, good, 120.0),
        QuestionResult(bad_q, (("b:p1",),), {m: ("a:p1", "a:p2") for m in modes}, {m: 12.0 for m in modes},
                       bad_q.question, bad, 150.0),
        QuestionResult(none_q, (), {m: ("a:p2",) for m in modes}, {m: 9.0 for m in modes}, none_q.question,
                       AnswerRecord("Je ne trouve pas la réponse.", True), 80.0),
    ]


def test_write_report_puts_failures_first_and_writes_json_and_charts(tmp_path):
    run = outcome(make_results(), info={"questions": "q.jsonl", "model": "fake", "k": 10})
    written = write_report(run, tmp_path / "out")
    assert [p.name for p in written] == ["report.md", "results.json", "hit_at_k.png", "latency.png"]

    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", md, flags=re.M)
    assert sections[0] == "Failing questions (1)"
    failing = md.split("## Failing questions (1)")[1].split("\n## ")[0]
    assert "`q2` — Which glacier melts?" in failing
    assert "retrieval_hybrid" in failing and "key_facts" in failing and "citation_precision" in failing
    assert "«glacier du Rhône»" in failing and "`b:p1`" in failing and "key facts: Rhône" in failing
    assert "footnotes: 4" in failing and "hybrid top 5: `a:p1`, `a:p2` (no gold retrieved)" in failing
    assert "Marseille accueille des cargos" in failing
    assert "`q1`" not in failing
    assert sections.index("Retrieval") > 0 and "| all | hybrid | 2 | 0.500 |" in md
    assert "| abstention recall | 1.000 | 1.000 | n/a |" in md

    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert set(data) == {"info", "summary", "thresholds", "data_errors", "questions"}
    assert set(data["summary"]) == {"all", "tune", "heldout"}
    q1, q2, q3 = data["questions"]
    assert set(q1) >= {"id", "question", "retrieved", "answer", "abstained", "citations", "checks", "passed", "latency_ms"}
    assert q1["retrieved"]["dense"] == ["a:p3", "a:p1"] and q1["passed"] is True
    assert q1["latency_ms"] == {"search": {"hybrid": 10.0, "dense": 11.0, "bm25": 12.0}, "ask": 120.0}
    assert q2["passed"] is False and q2["checks"]["citation_precision"] is False
    assert q2["citations"][0]["passage_id"] == "a:p1"
    assert q3["abstained"] is True and q3["checks"]["abstention"] is True

    for name in ("hit_at_k.png", "latency.png"):
        raw = (tmp_path / "out" / name).read_bytes()
        width, height = png_size(raw)
        assert width >= 400 and height >= 300 and len(raw) > 10_000


def test_report_of_a_run_without_answers_says_so():
    results = [QuestionResult(r.question, r.gold, r.retrieved, r.search_ms, r.retrieval_query) for r in make_results()]
    run = outcome(results, info={"answers_unavailable": "the pipeline has no ask()"})
    md = report_markdown(run)
    assert "Answers not available" in md and "| key-fact coverage | n/a | n/a | n/a |" in md


def test_print_summary_shows_the_three_retrievers(capsys):
    from rich.console import Console

    print_summary(outcome(make_results()), Console(width=150, force_terminal=False))
    out = capsys.readouterr().out
    assert "Retrieval" in out and all(m in out for m in ("hybrid", "dense", "bm25"))
    assert "key-fact coverage" in out and "1 of 3 questions failing" in out


# ---------------------------------------------------------------- the command


class FakeRenvoi:
    """Word-overlap search; answers quote the best passage, or abstain on no overlap."""

    def __init__(self):
        texts = {"a:p1": "Le port de Marseille accueille des cargos.", "a:p2": "Lyon est connue pour ses traboules.",
                 "b:p1": "Le glacier du Rhône fond chaque été."}
        self.passages = [Paragraph(id=i, doc_id=i.split(":")[0], text=t, n=1) for i, t in texts.items()]
        self.documents = {d: Document(id=d, title=d, source=f"{d}.txt") for d in ("a", "b")}

    def _overlap(self, question: str, p: Paragraph) -> int:
        words = lambda t: set(re.findall(r"\w{4,}", normalise(t)))  # noqa: E731
        return len(words(question) & words(p.text))

    embedded_by = "word overlap"

    def search(self, question, k=None, mode="hybrid"):
        ranked = sorted(self.passages, key=lambda p: (-self._overlap(question, p), p.id))
        return [Hit(i, p, 1.0, 0.0, 0.0, p.text) for i, p in enumerate(ranked[: k or 3], start=1)]

    def ask(self, question, history=(), k=None):
        hits = self.search(question, 3)
        p = hits[0].passage
        if not self._overlap(question, p):
            return Answer(question, "abstained", "fr", hits=tuple(hits))
        span = Span(p.id, 0, len(p.text), p.text)
        return Answer(question, "answered", "fr", (Claim(p.text, (span,), (1,)),),
                      (Citation(1, p, self.documents[p.doc_id], p.text, spans=(span,)),), tuple(hits))


@pytest.fixture
def eval_files(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_open", lambda config, paths=None, force=False: FakeRenvoi())
    lines = [
        {"id": "q1", "question": "Où sont les traboules ?", "lang": "fr", "kind": "fact", "split": "tune",
         "answerable": True, "gold": [{"doc_id": "a", "quote": "connue pour ses traboules"}],
         "key_facts": ["traboules"], "footnotes": [], "followup_of": None},
        {"id": "q2", "question": "Et le glacier ?", "lang": "fr", "kind": "followup", "split": "tune",
         "answerable": True, "gold": [{"doc_id": "b", "quote": "glacier du Rhône fond"}],
         "key_facts": ["Rhône"], "footnotes": [], "followup_of": "q1"},
        {"id": "q3", "question": "Quel temps fera-t-il demain ?", "lang": "fr", "kind": "unanswerable",
         "split": "heldout", "answerable": False, "gold": [], "key_facts": [], "footnotes": [], "followup_of": None},
        {"id": "q4", "question": "Which cargo port?", "lang": "en", "kind": "fact", "split": "heldout",
         "answerable": True, "gold": [{"doc_id": "a", "quote": "a phrase that is nowhere"}],
         "key_facts": ["Marseille"], "footnotes": [], "followup_of": None},
        {"id": "q5", "question": "How are the summers?", "lang": "en", "kind": "fact", "split": "heldout",
         "answerable": True, "gold": [{"doc_id": "b", "quote": "fond chaque été"}],
         "key_facts": ["été"], "footnotes": [], "followup_of": None},
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return tmp_path, questions


def run_eval(tmp_path, questions, bars: str, *extra: str) -> int:
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text(bars, encoding="utf-8")
    return cli.main(["eval", "--questions", str(questions), "--out", str(tmp_path / "report"),
                     "--thresholds", str(thresholds), *extra])


def test_eval_check_exits_1_with_one_line_per_metric_below_its_bar(eval_files, capsys):
    tmp_path, questions = eval_files
    code = run_eval(tmp_path, questions, "[retrieval.hybrid]\nhit_at_1 = 0.9\n[retrieval.bm25]\nhit_at_5 = 0.5\n"
                                         "[answers]\nabstention_recall = 0.5\nkey_fact_coverage = 0.99\n", "--check")
    err = capsys.readouterr().err
    assert code == 1
    below = [line for line in err.splitlines() if "below bar" in line]
    assert below == ["renvoi: below bar: retrieval.hybrid.hit_at_1 = 0.667, bar >= 0.9",
                     "renvoi: below bar: answers.key_fact_coverage = 0.750, bar >= 0.99"]
    assert err.strip().splitlines()[-1] == "renvoi: check failed: 2 metric(s) below their bar"
    assert (tmp_path / "report" / "report.md").is_file()
    data = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    assert [e["question_id"] for e in data["data_errors"]] == ["q4"]
    assert data["questions"][1]["retrieved"]["hybrid"][0] == "b:p1"


def test_eval_check_passes_when_every_bar_is_met(eval_files):
    tmp_path, questions = eval_files
    assert run_eval(tmp_path, questions, "[retrieval.hybrid]\nhit_at_5 = 0.9\n", "--check") == 0
    assert run_eval(tmp_path, questions, "[retrieval.hybrid]\nhit_at_1 = 1.0\n") == 0  # no --check: report only


def test_eval_bad_question_file_is_one_line_error(eval_files, capsys):
    tmp_path, questions = eval_files
    questions.write_text(questions.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    assert run_eval(tmp_path, questions, "") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("renvoi: ") and "questions.jsonl:6: malformed JSON" in err and "\n" not in err
    assert cli.main(["eval", "--questions", str(tmp_path / "absent.jsonl")]) == 2
    assert "question file not found" in capsys.readouterr().err
    assert cli.main(["eval", "--k", "0"]) == 2
    assert capsys.readouterr().err == "renvoi: --k must be at least 1, got 0\n"
