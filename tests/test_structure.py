"""The layered structure: no import cycles, composers that need neither the index nor
the pipeline, renderers whose output nobody parses back."""

from __future__ import annotations

import ast
from pathlib import Path

from rag.evaluate import AnswerRecord, CitedPassage, ClaimRecord, answer_record, sentence_support
from rag.records import Answer, Attribution, Citation, Claim, Document, Paragraph, Span
from rag.render.html import render_answer
from rag.render.text import answer_text

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the renvoi modules it imports at run time (imports under TYPE_CHECKING left out)."""
    modules = {_module_name(p): p for folder in ("rag", "ui") for p in (ROOT / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def test_no_module_imports_itself_back():
    graph = import_graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            # a package's __init__ re-exporting its own modules is not a cycle through them
            if node.startswith(dep + ".") or dep.startswith(node + "."):
                continue
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_the_stages_keep_to_their_layers():
    graph = import_graph()
    for composer in ("rag.compose.extractive", "rag.compose.generative", "rag.compose.verify"):
        reached = _reach(graph, composer)
        assert not reached & {"rag.index", "rag.pipeline", "rag.retrieve", "rag.embed", "rag.ingest"}, composer
    for renderer in ("rag.render.text", "rag.render.html", "rag.render.json", "rag.render.terminal",
                     "rag.render.markdown", "rag.render.cite"):
        reached = _reach(graph, renderer)
        assert not reached & {"rag.index", "rag.pipeline", "rag.retrieve", "rag.compose", "rag.embed"}, renderer
    for leaf in ("rag.records", "rag.config", "rag.storage", "rag.files", "rag.messages"):
        assert graph[leaf] <= {"rag.records", "rag.config"}, leaf
    # the index is read without the parser: answering must not import ingestion
    assert "rag.ingest" not in _reach(graph, "rag.index")
    assert "rag.ingest" not in _reach(graph, "rag.retrieve")


def _tricky_answer() -> tuple[Answer, dict[str, Document]]:
    """A quoted claim whose text looks like further answer lines with markers."""
    text = "Un texte » [2]\n- Quelqu'un écrit : « piège » [3] et [4]."
    p = Paragraph(id="d:p1", doc_id="d", text=f"Avant. {text} Après.", n=1)
    doc = Document(id="d", title="D", source="d.txt", authors=("A. Auteur",), paragraphs=(p,))
    at = p.text.index(text)
    span = Span(p.id, at, at + len(text), text)
    claim = Claim(text, (span,), (1,), Attribution("A. Auteur", "author"))
    answer = Answer(question="Q ?", status="answered", language="fr", claims=(claim,),
                    citations=(Citation(1, p, doc, text, spans=(span,)),))
    return answer, {doc.id: doc}


def test_the_page_and_the_evaluation_read_claims_not_the_rendered_text():
    answer, documents = _tricky_answer()
    rendered = answer_text(answer, documents)
    assert rendered.count("[") >= 4  # the text shows what looks like four markers
    html = render_answer(answer, 1, documents)
    assert html.count('class="rv-marker"') == 1 and html.count("<li>") == 1
    record = answer_record(answer, documents)
    support = sentence_support(record)
    assert [(s.markers, s.verbatim) for s in support] == [((1,), True)]
    assert record.claims == (ClaimRecord(answer.claims[0].text, (1,), True),)


def test_a_record_without_claims_supports_nothing():
    record = AnswerRecord(text="Quelque chose [1].", abstained=False,
                          citations=(CitedPassage(1, "d:p1", "d", "Quelque chose.", "Quelque chose."),))
    assert sentence_support(record) == []  # the text is never read for claims
