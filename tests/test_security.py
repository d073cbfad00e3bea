"""Exposure: what `renvoi chat` listens on and serves, and what renvoi fetches.

The chat page runs as the real command (`renvoi chat`, in a subprocess with the hashing
embedder of conftest standing in for the model) with its default address; the tests
look at the sockets it listens on, ask it for files outside the page, and watch every
connection it opens. Indexing and answering run in-process with every connection to
anything but loopback refused and recorded (`refuse_outside_connections`, in conftest); the test
marked `model` loads the real bundled model under that guard too.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import rag.pipeline
from rag.cli import main
from rag.config import Config

from conftest import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

ARTICLE = """\
# Les glaciers des Alpes fondent plus vite que prévu

Par Jeanne Martin, 2 janvier 2020

Le glacier du Rhône a perdu un tiers de sa masse depuis 1900, selon les relevés que les glaciologues suisses mènent chaque année depuis plus d'un siècle [1]. ![Le glacier en 1900](https://images.example.org/rhone-1900.jpg)

Les touristes viennent le voir fondre en été, et des bâches blanches couvrent désormais la grotte de glace creusée pour eux afin de ralentir la fonte, comme le montre [cette vidéo](https://video.example.org/rhone).

## Notes

[1]: Relevés glaciologiques suisses, https://example.org/glamos
"""

# A page that points at resources elsewhere: none may be fetched while it is read.
REMOTE_PAGE = """\
<!doctype html>
<html lang="fr"><head><title>Les trains de nuit reviennent en Europe</title>
<link rel="stylesheet" href="https://cdn.example.org/style.css">
<script src="https://tracker.example.org/t.js"></script>
<meta property="og:image" content="https://images.example.org/train.jpg"></head>
<body><article><h1>Les trains de nuit reviennent en Europe</h1>
<p>Par Paul Durand, 4 avril 2021</p>
<p>La ligne de nuit entre Paris et Vienne a rouvert en décembre 2021 après dix ans d'absence, portée par les chemins
de fer autrichiens et par des voyageurs qui ne veulent plus prendre l'avion <img src="https://tracker.example.org/pixel.gif">
pour traverser l'Europe.</p>
<p>Les wagons-lits se remplissent des mois à l'avance en été, même si les billets restent plus chers que les vols
à bas prix sur les mêmes trajets <iframe src="https://ads.example.org/frame"></iframe>, selon les compagnies.</p>
<p>Voir <a href="https://example.org/rapport-trains">le rapport des compagnies</a> pour les chiffres complets
des réservations de trains de nuit en Europe en 2021 et 2022.</p>
</article></body></html>
"""


# ---------------------------------------------------------------- the network guard


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "glaciers.md").write_text(ARTICLE, encoding="utf-8")
    (folder / "trains.html").write_text(REMOTE_PAGE, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- the served page

# `renvoi chat` with the hashing embedder, every outside connection refused and reported on stderr.
CHAT = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}, {root!r}]
    from conftest import refuse_outside_connections
    refuse_outside_connections(setattr, lambda what: print("OUTSIDE", what, file=sys.stderr, flush=True))
    from conftest import HashEmbedder
    import rag.pipeline
    rag.pipeline._load_embedder = lambda config, **_: HashEmbedder()
    from rag.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    return ""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`renvoi chat` on its default address, run from a folder that also holds a secret file."""
    home = tmp_path_factory.mktemp("served")
    corpus = write_corpus(home / "corpus")
    index_dir = home / "index"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(rag.pipeline, "_load_embedder", lambda config, **_: HashEmbedder())
        assert main(["index", str(corpus), "--index-dir", str(index_dir)]) == 0
    secret = f"secret-{uuid.uuid4().hex}"
    (home / "secret.txt").write_text(secret, encoding="utf-8")
    script = home / "chat.py"
    script.write_text(CHAT.format(tests=str(TESTS), root=str(ROOT)))
    port = _free_port()
    stderr = (home / "chat.err").open("w")
    proc = subprocess.Popen([sys.executable, str(script), "chat", "--port", str(port), "--index-dir", str(index_dir)],
                            cwd=home, stdout=subprocess.PIPE, stderr=stderr, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = _read_line(proc, 90)
        assert f"chat page at http://127.0.0.1:{port}/" in line, (line, (home / "chat.err").read_text())
        yield {"port": port, "home": home, "secret": secret, "proc": proc, "stderr": home / "chat.err",
               "files": [home / "secret.txt", corpus / "glaciers.md", index_dir / "current" / "manifest.json"]}
    finally:
        proc.terminate()  # a test server: no need to wait for gradio's own shutdown
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (no normalisation of `..` or escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _listening(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # the kernel prints each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(str(ipaddress.ip_address(raw)))
    return found


def _outside_address() -> str | None:
    """An address of this machine other than loopback (None when it has none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # UDP: picks the outgoing interface, sends nothing
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's socket tables")
def test_chat_listens_on_loopback_only_by_default(served, capsys):
    assert main(["chat", "--help"]) == 0
    assert "default: 127.0.0.1" in " ".join(capsys.readouterr().out.split())
    port = served["port"]
    addresses = _listening(port)
    assert addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses), addresses
    outside = _outside_address()
    if outside is not None:
        with pytest.raises(OSError), socket.create_connection((outside, port), timeout=5):
            pass


def _upload(port: int, size: int) -> int:
    """POST a file of `size` bytes to Gradio's upload endpoint; the HTTP status."""
    boundary = "renvoi-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{'x' * size}\r\n--{boundary}--\r\n").encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/gradio_api/upload", body=body,
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_the_page_takes_no_upload_beyond_loopback_without_a_login(tmp_path, monkeypatch):
    """Gradio's upload endpoint exists on every page; a page served beyond this machine
    without a login takes no file, of any size (issue 21), and shows no file picker."""
    from rag.pipeline import Renvoi
    from ui.app import launch

    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config, **_: HashEmbedder())
    corpus = write_corpus(tmp_path / "corpus")
    renvoi = Renvoi.open(Config(index_dir=tmp_path / "index"), [corpus], progress=False, notify=lambda m: None)
    gradio_tmp = Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio"))

    def stored() -> set[Path]:  # uploads a loopback page of another test may have kept are not this page's
        return {p for p in gradio_tmp.rglob("x.txt") if p.stat().st_size == 5000} if gradio_tmp.is_dir() else set()

    before = stored()
    port = _free_port()
    demo = launch(renvoi, host="0.0.0.0", port=port, block=False)
    try:
        assert _upload(port, 5000) in (403, 413)
        assert not any(getattr(b, "elem_id", None) in ("rv-files", "rv-folder") for b in demo.blocks.values())
    finally:
        demo.close()
    assert stored() - before == set()


def test_the_loopback_page_takes_files_up_to_the_limit_only(served):
    """On this machine the page takes documents, each up to the per-file limit."""
    assert _upload(served["port"], 5000) == 200
    limit = Config().ingest.max_file_bytes
    assert _upload(served["port"], limit + 1) in (403, 413)


FILE_PATHS = [
    "/gradio_api/file={abs}",
    "/gradio_api/file={rel}",
    "/file={abs}",
    "/file={rel}",
    "/gradio_api/file=../{rel}",
    "/gradio_api/file=../../../../../../..{abs}",
    "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e{abs_quoted}",
    "/static/../../../../../../..{abs}",
    "/assets/..%2f..%2f..%2f..%2f..%2f..%2f..{abs_quoted}",
    "/gradio_api/static/{rel}",
    "/{rel}",
]


def test_chat_serves_no_file_outside_the_page(served):
    port, home = served["port"], served["home"]
    targets = [*served["files"], Path("/etc/passwd")]
    for target in targets:
        content = target.read_bytes()
        needle = content[:40] if target.name != "secret.txt" else served["secret"].encode()
        rel = os.path.relpath(target, home)
        for pattern in FILE_PATHS:
            path = pattern.format(abs=target, rel=rel, abs_quoted=str(target).replace("/", "%2f"))
            status, body = _get(port, path)
            assert not (status == 200 and needle in body), f"{path} served {target}"
            assert needle not in body, path
    # the page itself and its API description are served, and name no local path
    for path in ("/", "/config", "/gradio_api/info"):
        status, body = _get(port, path)
        assert status == 200, path
        assert str(home).encode() not in body, f"{path} shows a local path"


def test_chat_answers_without_reaching_outside(served):
    from gradio_client import Client

    client = Client(f"http://127.0.0.1:{served['port']}/", verbose=False)
    data = client.predict(question="Combien le glacier du Rhône a-t-il perdu ?", k=3, api_name="/answer")
    assert data["question"].startswith("Combien") and len(data["passages"]) == 3
    stderr = served["stderr"].read_text()
    assert "OUTSIDE" not in stderr, stderr
    assert "Traceback" not in stderr


def test_launch_sets_no_allowed_paths_and_no_share_link(monkeypatch, tmp_path):
    import gradio as gr

    from rag.index import Index
    from rag.ingest import citable_passages, ingest_paths
    from rag.pipeline import Renvoi
    from ui.app import launch

    calls = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: calls.append(kwargs))
    docs = list(ingest_paths([write_corpus(tmp_path / "corpus")]).documents)
    config = Config(index_dir=tmp_path / "index")
    embedder = HashEmbedder()
    index = Index.build(docs, [p for d in docs for p in citable_passages(d)], embedder, config)
    launch(Renvoi(config, index, embedder), block=False)
    (kwargs,) = calls
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False
    assert not kwargs.get("allowed_paths") and not kwargs.get("blocked_paths")
    assert kwargs.get("mcp_server") is False
    assert kwargs.get("show_error") is False, "errors reach the page as messages, not as tracebacks"


# ---------------------------------------------------------------- nothing fetched


def test_indexing_and_asking_fetch_nothing(tmp_path, capsys, monkeypatch, no_network):
    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config, **_: HashEmbedder())
    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    assert run(capsys, "inspect", "--json", corpus)[0] == 0
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    code, out, err = run(capsys, "ask", "--json", "--index-dir", index_dir, "Quand la ligne Paris-Vienne a-t-elle rouvert ?")
    assert code == 0 and json.loads(out)["passages"]
    assert run(capsys, "search", "--json", "--index-dir", index_dir, "https://example.org/rapport-trains")[0] == 0
    # a URL given as a source is not fetched: it is no file, and says so
    code, out, err = run(capsys, "index", "https://example.org/article.html", "--index-dir", tmp_path / "other")
    assert code == 2 and "no such file or folder" in err
    assert no_network == []


@pytest.mark.model
def test_loading_the_real_model_and_answering_fetch_nothing(tmp_path, capsys, monkeypatch, model_cache, no_network):
    monkeypatch.setenv("RENVOI_CACHE", str(model_cache))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # the guard, not a setting, must keep it offline
        monkeypatch.delenv(name, raising=False)
    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    code, out, err = run(capsys, "index", corpus, "--index-dir", index_dir)
    assert code == 0, err
    code, out, err = run(capsys, "ask", "--json", "--index-dir", index_dir, "Quand la ligne Paris-Vienne a-t-elle rouvert ?")
    assert code == 0 and json.loads(out)["citations"][0]["doc_id"] == "trains"
    assert no_network == []
