"""Tests of rag.evaluate: question loading, gold passages, and every metric on
tiny hand-made runs whose scores are known (perfect = 1, empty = 0, mixed =
computed by hand)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.evaluate import (
    AnswerRecord,
    ClaimRecord,
    CitedPassage,
    EvalQuestion,
    GoldQuote,
    QuestionResult,
    alce_citation_scores,
    answer_metrics,
    check_thresholds,
    citation_precision,
    citation_recall,
    collect,
    contains,
    failed_checks,
    first_gold_rank,
    footnote_scores,
    key_fact_coverage,
    latency_metrics,
    load_questions,
    load_thresholds,
    normalise,
    outcome,
    percentile,
    question_checks,
    resolve_gold,
    retrieval_scores,
    sentence_support,
    summarize,
)
from rag.records import Answer, Citation, Claim, Document, Footnote, Hit, Paragraph, Span, Turn


def q(qid: str, *, answerable: bool = True, split: str = "tune", key_facts=(), footnotes=(),
      followup_of=None, kind: str | None = None, gold=()) -> EvalQuestion:
    return EvalQuestion(
        id=qid, question=f"question {qid}?", lang="fr",
        kind=kind or ("fact" if answerable else "unanswerable"), split=split, answerable=answerable,
        gold=tuple(gold), key_facts=tuple(key_facts), footnotes=tuple(footnotes), followup_of=followup_of,
    )


def result(question: EvalQuestion, gold=(), retrieved=None, answer=None, **kw) -> QuestionResult:
    return QuestionResult(question=question, gold=tuple(tuple(g) for g in gold),
                          retrieved=retrieved or {}, answer=answer, **kw)


def cite(marker: int, pid: str, text: str = "texte", quote: str = "", notes=()) -> CitedPassage:
    return CitedPassage(marker=marker, passage_id=pid, doc_id=pid.split(":")[0], quote=quote, text=text,
                        footnotes=tuple(notes))


# ---------------------------------------------------------------- normalisation


def test_normalise_ignores_case_accents_typography_markdown_and_note_markers():
    source = "Il « répète » l’idée de [Donald Trump](#) *leader* russe [3] : c'est — dit-il — fini."
    assert contains(source, "il \"repete\" l'idee de donald trump leader russe: c’est - dit-il - fini")
    assert normalise("États\u00a0Unis") == normalise("etats unis")
    assert not contains(source, "")
    assert not contains(source, "Poutine")


# ---------------------------------------------------------------- loading


GOOD = {
    "id": "q1", "question": "Qui ?", "lang": "fr", "kind": "fact", "split": "tune", "answerable": True,
    "gold": [{"doc_id": "a", "quote": "port de Marseille"}], "key_facts": ["Marseille"], "footnotes": [2],
    "followup_of": None,
}


def write_lines(path: Path, objs) -> Path:
    path.write_text("\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs) + "\n", encoding="utf-8")
    return path


def test_load_questions_reads_a_good_file(tmp_path):
    follow = {**GOOD, "id": "q2", "kind": "followup", "followup_of": "q1", "split": "heldout"}
    none = {**GOOD, "id": "q3", "kind": "unanswerable", "answerable": False, "gold": [], "key_facts": [],
            "footnotes": []}
    qs = load_questions(write_lines(tmp_path / "q.jsonl", [GOOD, "", follow, none]))
    assert [x.id for x in qs] == ["q1", "q2", "q3"]
    assert qs[0].gold == (GoldQuote("a", "port de Marseille"),)
    assert qs[0].footnotes == (2,) and qs[0].key_facts == ("Marseille",)
    assert qs[1].followup_of == "q1" and qs[1].split == "heldout" and qs[1].line == 3
    assert not qs[2].answerable


def test_load_questions_names_file_and_line_of_malformed_json(tmp_path):
    path = write_lines(tmp_path / "q.jsonl", [GOOD, '{"id": "q2", '])
    with pytest.raises(ValueError, match=r"q\.jsonl:2: malformed JSON"):
        load_questions(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "trivia"}, r"unknown kind 'trivia'; allowed: fact, number"),
        ({"lang": "German"}, r"unknown language 'German'; give an ISO 639-1 code"),
        ({"split": "dev"}, r"unknown split 'dev'"),
        ({"answerable": "yes"}, r"'answerable' must be a non-empty bool"),
        ({"footnotes": ["3"]}, r"footnotes must be positive integers"),
        ({"gold": [{"doc": "a"}]}, r"each gold entry"),
        ({"colour": "red"}, r"unknown field 'colour'"),
        ({"gold": []}, r"answerable question needs at least one gold quote"),
        ({"followup_of": "q9"}, r"followup_of 'q9' is not the id of an earlier question"),
        ({"kind": "unanswerable"}, r"kind 'unanswerable' needs answerable false"),
    ],
)
def test_load_questions_rejects_bad_values_with_one_line(tmp_path, change, message):
    path = write_lines(tmp_path / "q.jsonl", [GOOD, {**GOOD, "id": "q2", **change}])
    with pytest.raises(ValueError, match=message) as e:
        load_questions(path)
    assert "q.jsonl:2" in str(e.value) and "\n" not in str(e.value)


def test_load_questions_rejects_missing_file_and_duplicate_ids(tmp_path):
    with pytest.raises(ValueError, match="question file not found"):
        load_questions(tmp_path / "absent.jsonl")
    with pytest.raises(ValueError, match="duplicate id 'q1'"):
        load_questions(write_lines(tmp_path / "q.jsonl", [GOOD, GOOD]))


def test_load_thresholds_reads_bars_and_rejects_unknown_metrics(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('split = "heldout"\n[retrieval.hybrid]\nhit_at_5 = 0.9\n[answers]\nanswerable_abstained_max = 0.1\n')
    t = load_thresholds(path)
    assert t.split == "heldout"
    assert [(b.metric, b.value, b.upper) for b in t.bars] == [
        ("retrieval.hybrid.hit_at_5", 0.9, False), ("answers.answerable_abstained", 0.1, True)]
    path.write_text("[answers]\nhappiness = 1.0\n")
    with pytest.raises(ValueError, match="unknown metric 'happiness' in \\[answers\\]"):
        load_thresholds(path)
    path.write_text("[retrieval.sparse]\nhit_at_5 = 1.0\n")
    with pytest.raises(ValueError, match="unknown section \\[retrieval.sparse\\]"):
        load_thresholds(path)


def test_shipped_thresholds_file_is_valid():
    from rag.corpora import corpora

    root = Path(__file__).parent.parent
    path = root / "eval" / "thresholds.toml"
    for name in corpora(root):  # every corpus has its bars, and they parse
        t = load_thresholds(path, name)
        assert any(b.metric == "retrieval.hybrid.hit_at_5" for b in t.bars), name


def test_thresholds_of_one_corpus_are_read_apart(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[a]\nsplit = 'tune'\n[a.retrieval.hybrid]\nhit_at_5 = 0.9\n[a.ingestion]\n"
                    "content_sentences_kept = 0.98\n[b.answers]\nkey_fact_coverage = 0.5\n")
    a = load_thresholds(path, "a")
    assert a.split == "tune" and [b.metric for b in a.bars] == ["retrieval.hybrid.hit_at_5",
                                                                "ingestion.content_sentences_kept"]
    assert [b.metric for b in load_thresholds(path, "b").bars] == ["answers.key_fact_coverage"]
    assert load_thresholds(path, "c").bars == ()


# ---------------------------------------------------------------- gold passages


def passages() -> list[Paragraph]:
    return [
        Paragraph(id="a:p1", doc_id="a", text="Le port de Marseille accueille des cargos [1]."),
        Paragraph(id="a:p2", doc_id="a", text="Marseille est au sud. Le port de Marseille recule."),
        Paragraph(id="a:p3", doc_id="a", text="Lyon est connue pour ses « traboules »."),
        Paragraph(id="b:p1", doc_id="b", text="Le glacier du Rhône fond."),
        Paragraph(id="b:p2", doc_id="b", text="La fin de la guerre froide change tout.", kind="answer",
                  speaker="Michael Eric Lambert"),
    ]


def test_resolve_gold_maps_quotes_to_passages_and_reports_data_errors():
    doc_a = Document(id="a", title="A", source="a.txt",
                     footnotes=(Footnote(1, "Rapport du port", "http://example.org/port_2020"),))
    qs = [
        q("q1", gold=[GoldQuote("a", "connue pour ses \"traboules\"")]),
        q("q2", gold=[GoldQuote("a", "accueille des cargos"), GoldQuote("b", "glacier du Rhone")]),
        q("q3", gold=[GoldQuote("a", "port de Marseille")]),
        q("q4", gold=[GoldQuote("a", "une phrase absente")]),
        q("q5", gold=[GoldQuote("zz", "rien")]),
        q("q6", gold=[GoldQuote("a", "accueille des cargos"), GoldQuote("a", "example.org/port\\_2020")]),
        q("q7", gold=[GoldQuote("b", "Dr Michael Eric Lambert : La fin de la Guerre froide")]),
    ]
    gold, errors = resolve_gold(qs, passages(), {"a": doc_a})
    assert gold["q1"] == (("a:p3",),)
    assert gold["q2"] == (("a:p1",), ("b:p1",))
    assert gold["q3"] == (("a:p1", "a:p2"),)
    assert gold["q4"] == () and gold["q5"] == ()
    assert gold["q6"] == (("a:p1",),)  # the URL quote is in note 1, not an error
    assert gold["q7"] == (("b:p2",),)  # an interview turn quoted with its speaker
    by_q = {(e.question_id, e.severity) for e in errors}
    assert by_q == {("q3", "warning"), ("q4", "error"), ("q5", "error")}
    assert "quote not found in any passage of a" in next(e.message for e in errors if e.question_id == "q4")


def test_resolve_gold_checks_given_gold_ids():
    agree = EvalQuestion("q1", "?", "fr", "fact", "tune", True, (GoldQuote("a", "traboules"),), gold_ids=("a:p3",))
    differ = EvalQuestion("q2", "?", "fr", "fact", "tune", True, (GoldQuote("a", "traboules"),), gold_ids=("a:p1",))
    only_ids = EvalQuestion("q3", "?", "fr", "fact", "tune", True, (), gold_ids=("b:p1",))
    # a byline quoted from the page, kept only as the metadata card: the ids say where
    byline = EvalQuestion("q4", "?", "fr", "who", "tune", True, (GoldQuote("b", "vendredi, par Jean Dupont"),),
                          gold_ids=("b:p2",))
    gold, errors = resolve_gold([agree, differ, only_ids, byline], passages())
    assert gold == {"q1": (("a:p3",),), "q2": (("a:p3",),), "q3": (("b:p1",),), "q4": (("b:p2",),)}
    assert [(e.question_id, e.severity) for e in errors] == [("q2", "error"), ("q4", "warning")]
    assert "disagree" in errors[0].message and "gold_ids used" in errors[1].message


# ---------------------------------------------------------------- retrieval


def test_retrieval_scores_perfect_run_scores_one():
    rs = [result(q(f"q{i}"), gold=[[f"a:p{i}"]], retrieved={"hybrid": (f"a:p{i}", "x", "y")}) for i in range(3)]
    means, curve = retrieval_scores(rs, "hybrid")
    assert means == {"hit_at_1": 1.0, "hit_at_3": 1.0, "hit_at_5": 1.0, "mrr_at_10": 1.0, "ndcg_at_10": 1.0}
    assert curve == [1.0] * 10


def test_retrieval_scores_empty_run_scores_zero_and_skips_unanswerable():
    rs = [result(q("q1"), gold=[["a:p1"]], retrieved={"hybrid": ()}),
          result(q("q2"), gold=[["a:p2"]], retrieved={}),
          result(q("q3", answerable=False), retrieved={"hybrid": ("a:p1",)})]
    means, curve = retrieval_scores(rs, "hybrid")
    assert all(v == 0.0 for v in means.values()) and curve == [0.0] * 10
    assert retrieval_scores([rs[2]], "hybrid")[0]["mrr_at_10"] is None


def test_retrieval_scores_mixed_run_matches_hand_computation():
    rs = [
        result(q("q1"), gold=[["g1"]], retrieved={"dense": ("g1", "x")}),        # rank 1
        result(q("q2"), gold=[["g2"]], retrieved={"dense": ("x", "y", "g2")}),   # rank 3
        result(q("q3"), gold=[["g3"]], retrieved={"dense": ("x", "y", "z", "w", "v", "u", "g3")}),  # rank 7
        result(q("q4"), gold=[["g4"]], retrieved={"dense": ("x",)}),             # missed
    ]
    means, curve = retrieval_scores(rs, "dense")
    assert means["hit_at_1"] == pytest.approx(1 / 4)
    assert means["hit_at_3"] == pytest.approx(2 / 4)
    assert means["hit_at_5"] == pytest.approx(2 / 4)
    assert means["mrr_at_10"] == pytest.approx((1 + 1 / 3 + 1 / 7 + 0) / 4)
    assert curve == pytest.approx([0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75])


def test_retrieval_ranking_is_the_list_order_even_for_equal_pipeline_scores():
    # Two gold passages of one document: a hit on either counts once; order, not score, decides rank.
    rs = [result(q("q1"), gold=[["a:p2", "a:p9"]], retrieved={"bm25": ("a:p5", "a:p9", "a:p2")})]
    means, _ = retrieval_scores(rs, "bm25")
    assert means["mrr_at_10"] == pytest.approx(0.5)
    assert first_gold_rank(("a:p5", "a:p9"), {"a:p9"}) == 2
    assert first_gold_rank(("a:p5",), {"a:p9"}) is None


# ---------------------------------------------------------------- answers


def test_key_fact_coverage_counts_facts_in_text_quotes_and_notes():
    a = AnswerRecord(text="Les hélicoptères d'AIRBUS [1].", abstained=False,
                     citations=(CitedPassage(1, "a:p1", "a", "le Caracal", "…", (10,), ("http://hp.fr/x_y",)),))
    assert key_fact_coverage(a, ["Airbus", "Caracal", "hp.fr/x\\_y"]) == 1.0
    assert key_fact_coverage(a, ["Airbus", "Puma"]) == 0.5
    # An abstention listing the closest passages asserts none of them.
    assert key_fact_coverage(AnswerRecord("Je ne sais pas. Passages proches : Airbus", True), ["Airbus"]) == 0.0
    assert key_fact_coverage(a, []) is None


def test_citation_precision_and_recall():
    gold = [["a:p1", "a:p2"], ["b:p1"]]
    assert citation_precision(["a:p1", "b:p1"], gold) == 1.0
    assert citation_recall(["a:p2", "b:p1"], gold) == 1.0
    assert citation_precision([], gold) == 0.0 and citation_recall([], gold) == 0.0
    assert citation_precision(["a:p1", "a:p1", "c:p4", "c:p5"], gold) == pytest.approx(1 / 3)
    assert citation_recall(["a:p1", "c:p4"], gold) == 0.5
    assert citation_recall(["a:p1"], []) is None


def test_footnote_scores():
    assert footnote_scores([3, 5], [3, 5]) == (1.0, 1.0, 1.0)
    assert footnote_scores([], [3]) == (0.0, 0.0, 0.0)
    p, r, f1 = footnote_scores([3, 4, 7], [3, 5])
    assert (p, r) == pytest.approx((1 / 3, 1 / 2)) and f1 == pytest.approx(0.4)
    assert footnote_scores([3], []) is None


def test_abstention_metrics_positive_class_is_abstained():
    yes, no = AnswerRecord("Je ne trouve pas.", True), AnswerRecord("Oui [1].", False, (cite(1, "a:p1"),))
    perfect = [result(q("u1", answerable=False), answer=yes), result(q("a1"), gold=[["a:p1"]], answer=no)]
    m = answer_metrics(perfect)
    assert (m["abstention_precision"], m["abstention_recall"], m["answerable_abstained"]) == (1.0, 1.0, 0.0)
    never = [result(q("u1", answerable=False), answer=no), result(q("a1"), gold=[["a:p1"]], answer=no)]
    m = answer_metrics(never)
    assert m["abstention_precision"] is None and m["abstention_recall"] == 0.0
    mixed = [result(q("u1", answerable=False), answer=yes), result(q("u2", answerable=False), answer=no),
             result(q("a1"), gold=[["a:p1"]], answer=yes), result(q("a2"), gold=[["a:p1"]], answer=no)]
    m = answer_metrics(mixed)
    assert (m["abstention_precision"], m["abstention_recall"], m["answerable_abstained"]) == (0.5, 0.5, 0.5)


def test_answer_metrics_averages_over_the_right_questions():
    good = AnswerRecord("Airbus [1].", False, (cite(1, "a:p1", notes=[10]),))
    half = AnswerRecord("Airbus [1] et Lyon [2].", False, (cite(1, "a:p1"), cite(2, "c:p9")))
    rs = [
        result(q("q1", key_facts=["Airbus"], footnotes=[10]), gold=[["a:p1"]], answer=good),
        result(q("q2", key_facts=["Airbus", "Caracal"], footnotes=[10]), gold=[["a:p1"], ["b:p1"]], answer=half),
        result(q("q3", key_facts=["Airbus"]), gold=[["a:p1"]], answer=AnswerRecord("Je ne sais pas.", True)),
        result(q("q4"), gold=[["a:p1"]], answer=None),  # no answer: left out of answer metrics
    ]
    m = answer_metrics(rs)
    assert m["key_fact_coverage"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["citation_precision"] == pytest.approx((1 + 0.5) / 2)  # q3 abstained: not counted
    assert m["citation_recall"] == pytest.approx((1 + 0.5) / 2)
    assert (m["footnote_precision"], m["footnote_recall"], m["footnote_f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert m["answerable_abstained"] == pytest.approx(1 / 3)
    assert all(v is None for v in answer_metrics([rs[3]]).values())


def test_sentence_support_verbatim_then_similarity():
    passage = "Selon lui, « l'isolationnisme reste à confirmer » dans les faits. Autre phrase."
    a = AnswerRecord(
        text="Il juge que « l’isolationnisme reste à confirmer » [1]. Trump est isolationniste [1]. Rien ne le montre ici [5].",
        abstained=False, citations=(cite(1, "a:p1", text=passage, quote="Autre phrase."),),
        claims=(ClaimRecord("Il juge que « l’isolationnisme reste à confirmer ».", (1,), quoted=False),
                ClaimRecord("Trump est isolationniste.", (1,), quoted=False),
                ClaimRecord("Rien ne le montre ici.", (5,), quoted=False)),
    )
    plain = sentence_support(a)
    assert [(s.verbatim, s.supported) for s in plain] == [(True, True), (False, False), (False, False)]
    sims = sentence_support(a, similarity=lambda x, y: 0.9 if "isolationniste" in x else 0.1, threshold=0.85)
    assert [(s.supported, s.similarity) for s in sims] == [(True, None), (True, 0.9), (False, None)]


def test_sentence_support_reads_quotes_whole_and_nested_quotations_in_generated_sentences():
    passage = "Lyon est connue pour ses « traboules ». Elle a deux fleuves."
    a = AnswerRecord(
        text="(rendered text, not read)", abstained=False, citations=(cite(1, "a:p1", text=passage),),
        claims=(ClaimRecord("Lyon est connue pour ses « traboules ».", (1,)),
                ClaimRecord("Lyon a trois fleuves.", (1,)),
                ClaimRecord("On dit que « Lyon est connue pour ses « traboules ». » ici.", (1,), quoted=False)),
    )
    assert [(s.markers, s.verbatim) for s in sentence_support(a)] == [((1,), True), ((1,), False), ((1,), True)]


def test_percentile_and_latency():
    assert percentile([], 50) is None
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([5.0] * 3 + [100.0], 95) == pytest.approx(85.75)
    rs = [result(q("q1"), search_ms={"hybrid": 10.0, "dense": 20.0}, ask_ms=100.0),
          result(q("q2"), search_ms={"hybrid": 30.0}, ask_ms=None)]
    lat = latency_metrics(rs)
    assert lat["search_p50_ms"] == 20.0 and lat["search_hybrid_p50_ms"] == 20.0
    assert lat["ask_p50_ms"] == 100.0 and lat["search_bm25_p50_ms"] is None


def test_question_checks_and_failures():
    ok = result(q("q1", key_facts=["Airbus"]), gold=[["a:p1"]], retrieved={m: ("a:p1",) for m in ("hybrid", "dense", "bm25")},
                answer=AnswerRecord("Airbus [1].", False, (cite(1, "a:p1", text="Airbus."),),
                                    claims=(ClaimRecord("Airbus.", (1,)),)))
    ok = QuestionResult(**{**ok.__dict__, "support": tuple(sentence_support(ok.answer))})
    assert failed_checks(question_checks(ok)) == []
    dense_miss = QuestionResult(**{**ok.__dict__, "retrieved": {**ok.retrieved, "dense": ()}})
    assert question_checks(dense_miss)["retrieval_dense"] is False
    assert failed_checks(question_checks(dense_miss)) == []  # dense is a diagnostic
    wrong = result(q("u1", answerable=False), answer=AnswerRecord("Airbus [1].", False, (cite(1, "a:p1"),)),
                   errors=("ask: boom",))
    assert failed_checks(question_checks(wrong)) == ["abstention", "no_error"]


def test_check_thresholds_passes_fails_and_reports_missing(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[retrieval.hybrid]\nhit_at_1 = 0.9\n[answers]\nkey_fact_coverage = 0.5\n"
                    "answerable_abstained_max = 0.1\n[latency]\nask_p95_ms_max = 1000\n")
    rs = [result(q("q1"), gold=[["a:p1"]], retrieved={"hybrid": ("x", "a:p1")}, search_ms={"hybrid": 5.0})]
    checks = check_thresholds(summarize(rs), load_thresholds(path))
    assert [(c.threshold.metric, c.status) for c in checks] == [
        ("retrieval.hybrid.hit_at_1", "fail"), ("answers.key_fact_coverage", "missing"),
        ("answers.answerable_abstained", "missing"), ("latency.ask_p95_ms", "missing")]
    assert checks[0].line() == "retrieval.hybrid.hit_at_1 = 0.000, bar >= 0.9"
    assert "not available" in checks[1].line()


# ---------------------------------------------------------------- running a pipeline


class FakePipeline:
    """Searches by word overlap; answers by quoting the best passage; records histories."""

    def __init__(self, paras: list[Paragraph], fail_on: str = ""):
        self.passages = paras
        self.documents = {p.doc_id: Document(id=p.doc_id, title=p.doc_id, source="x") for p in paras}
        self.histories: list[tuple[str, tuple[Turn, ...]]] = []
        self.fail_on = fail_on

    def search(self, question: str, k: int | None = None, mode: str = "hybrid") -> list[Hit]:
        words = set(re.findall(r"\w+", normalise(question)))
        scored = sorted(self.passages, key=lambda p: (-len(words & set(re.findall(r"\w+", normalise(p.text)))), p.id))
        return [Hit(i, p, 1.0, 0.0, 0.0, p.text) for i, p in enumerate(scored[: k or 3], start=1)]

    def ask(self, question: str, history=(), k=None) -> Answer:
        self.histories.append((question, tuple(history)))
        if self.fail_on and self.fail_on in question:
            raise RuntimeError("composer exploded")
        top = self.search(question, 3)
        p = top[0].passage
        span = Span(p.id, 0, len(p.text), p.text)
        return Answer(question=question, status="answered", language="fr",
                      claims=(Claim(p.text, (span,), (1,)),),
                      citations=(Citation(1, p, self.documents[p.doc_id], p.text, spans=(span,)),), hits=tuple(top))


def test_collect_runs_every_mode_passes_history_and_records_errors():
    paras = passages()
    first = EvalQuestion("q1", "Où sont les traboules ?", "fr", "fact", "tune", True, (GoldQuote("a", "traboules"),))
    follow = EvalQuestion("q2", "Et le glacier ?", "fr", "followup", "tune", True, (GoldQuote("b", "glacier"),),
                          followup_of="q1")
    broken = EvalQuestion("q3", "boom glacier", "fr", "fact", "heldout", True, (GoldQuote("b", "glacier"),))
    gold, errors = resolve_gold([first, follow, broken], paras)
    assert not errors
    fake = FakePipeline(paras, fail_on="boom")
    ticks = iter(float(i) for i in range(1000))
    results, no_answers = collect(fake, [first, follow, broken], gold, k=2, clock=lambda: next(ticks))
    assert no_answers is None
    r1, r2, r3 = results
    assert set(r1.retrieved) == {"hybrid", "dense", "bm25"} and r1.retrieved["hybrid"][0] == "a:p3"
    assert all(len(ids) <= 2 for ids in r1.retrieved.values())
    assert r1.search_ms["dense"] == 1000.0 and r1.ask_ms == 1000.0
    # the previous turn as the chat page keeps it: answer, resolved question, cited passages
    assert fake.histories[1] == ("Et le glacier ?", (Turn(first.question, r1.answer.text, None, ("a:p3",)),))
    assert r2.retrieved["hybrid"] == r2.answer.hit_ids  # no resolved question: the answer's own list
    assert r3.answer is None and r3.errors == ("ask: RuntimeError: composer exploded",)
    assert r1.support and all(s.verbatim for s in r1.support)
    run = outcome(results)
    assert run.summaries["heldout"]["counts"]["questions"] == 1
    assert [x.question.id for x in run.failing] == ["q3"]


def test_collect_without_ask_reports_answers_unavailable():
    class SearchOnly:
        def __init__(self):
            self.inner = FakePipeline(passages())

        def search(self, question, k=None, mode="hybrid"):
            return self.inner.search(question, k, mode)

    qs = [EvalQuestion("q1", "traboules", "fr", "fact", "tune", True, (GoldQuote("a", "traboules"),))]
    gold, _ = resolve_gold(qs, passages())
    results, no_answers = collect(SearchOnly(), qs, gold, k=3)
    assert no_answers and results[0].answer is None
    assert summarize(results)["answers"]["key_fact_coverage"] is None
    assert summarize(results)["retrieval"]["hybrid"]["hit_at_1"] == 1.0


# ---------------------------------------------------------------- ALCE citation scores, the reranker compared


def _judge(facts: dict[str, set[str]]):
    """An NLI judge: a premise entails a claim when it holds one of the claim's facts' words."""
    calls = []

    def entailed(premise: str, hypothesis: str) -> bool:
        calls.append((premise, hypothesis))
        return any(word in premise for word in facts.get(hypothesis, ()))

    return entailed, calls


def test_alce_citation_recall_and_precision_follow_their_definition():
    a, b = cite(1, "a:p1", "Lyon a des traboules."), cite(2, "a:p2", "Lyon est en France.")
    c = CitedPassage(3, "b:p1", "b", "", "Le glacier fond.", (1,), ("Relevés suisses de 2020",))
    answer = AnswerRecord(text="…", abstained=False, citations=(a, b, c), claims=(
        ClaimRecord("Lyon a des traboules.", (1, 2)),  # entailed by [1] alone: [2] is not needed
        ClaimRecord("Le glacier fond depuis 2020.", (3,)),  # entailed thanks to its note
        ClaimRecord("Lyon est la capitale.", (2,)),  # not entailed: its citation counts as none
    ), uncited=("Une phrase sans source.",))
    entailed, calls = _judge({"Lyon a des traboules.": {"traboules"}, "Le glacier fond depuis 2020.": {"2020"}})
    scores = alce_citation_scores(answer, entailed)
    assert scores.statements == 4 and scores.citations == 4
    assert scores.recall == 2 / 4  # the uncited statement counts as not entailed
    assert scores.precision == 2 / 4  # [1] of the first statement, [3]; not [2] (twice)
    assert ("Lyon a des traboules.\nLyon est en France.", "Lyon a des traboules.") in calls  # jointly, first
    # a citation each statement needs: two passages that only together entail it
    both = AnswerRecord(text="…", abstained=False, citations=(a, b), claims=(ClaimRecord("Lyon, en France, a des traboules.", (1, 2)),))
    entailed, _ = _judge({})
    joint = lambda premise, hypothesis: "traboules" in premise and "France" in premise  # noqa: E731
    assert alce_citation_scores(both, joint).precision == 1.0 and alce_citation_scores(both, joint).recall == 1.0
    assert alce_citation_scores(AnswerRecord(text="", abstained=False), entailed) is None


def test_answer_metrics_average_alce_scores_over_judged_answers():
    answer = AnswerRecord(text="x", abstained=False, citations=(cite(1, "a:p1"),),
                          claims=(ClaimRecord("x", (1,)),))
    from rag.evaluate import CitationEntailment

    results = [result(q("q1"), gold=[["a:p1"]], answer=answer, alce=CitationEntailment(1.0, 0.5, 1, 2)),
               result(q("q2"), gold=[["a:p1"]], answer=answer, alce=CitationEntailment(0.0, 0.0, 1, 1)),
               result(q("q3"), gold=[["a:p1"]], answer=answer)]
    m = answer_metrics(results)
    assert m["alce_citation_recall"] == 0.5 and m["alce_citation_precision"] == 0.25
    assert answer_metrics(results[2:])["alce_citation_recall"] is None


class RerankingPipeline(FakePipeline):
    """A pipeline with a reranker that puts the glacier first, whatever the question."""

    reranker = object()

    def search(self, question, k=None, mode="hybrid", rerank=None):
        if not rerank:
            return super().search(question, k, mode)
        order = sorted(super().search(question, len(self.passages), mode), key=lambda h: "glacier" not in h.passage.text)
        return [Hit(i, h.passage, h.score, 0.0, 0.0, h.best_sentence, rerank_score=1.0 / i)
                for i, h in enumerate(order[:k], start=1)]


def test_collect_measures_retrieval_with_and_without_the_reranker():
    paras = passages()
    question = EvalQuestion("q1", "Où sont les traboules ?", "fr", "fact", "tune", True, (GoldQuote("a", "traboules"),))
    gold, _ = resolve_gold([question], paras)
    entailed, calls = _judge({})
    results, _ = collect(RerankingPipeline(paras), [question], gold, k=2, entailed=entailed)
    r = results[0]
    assert set(r.retrieved) == {"hybrid", "dense", "bm25", "rerank"}
    assert r.retrieved["hybrid"][0] == "a:p3" and r.retrieved["rerank"][0] != "a:p3"
    assert r.alce is not None and r.alce.recall == 0.0 and calls  # judged
    s = summarize(results)
    assert s["retrieval"]["hybrid"]["hit_at_1"] == 1.0 and s["retrieval"]["rerank"]["hit_at_1"] == 0.0
    assert s["latency"]["search_rerank_p50_ms"] is not None
    assert question_checks(r)["retrieval_rerank"] is True
    # the answers come from the reranked list: it is what fails a question, hybrid is a diagnostic
    lists = {"hybrid": ("b:p1",), "dense": ("b:p1",), "bm25": ("b:p1",), "rerank": ("a:p3",)}
    assert failed_checks(question_checks(result(question, gold=[["a:p3"]], retrieved=lists))) == []
    lists = {"hybrid": ("a:p3",), "dense": ("a:p3",), "bm25": ("a:p3",), "rerank": ("b:p1",)}
    assert failed_checks(question_checks(result(question, gold=[["a:p3"]], retrieved=lists))) == ["retrieval_rerank"]
    # without a reranker, no such retriever is reported
    plain, _ = collect(FakePipeline(paras), [question], gold, k=2)
    assert "rerank" not in summarize(plain)["retrieval"]
