"""Which files a list of paths stands for: the one discovery used by ingestion,
the corpus hash and `inspect`, so that what is hashed is what is indexed.

Folders are walked recursively, in sorted order; hidden files and folders
(names starting with ".") are skipped; only supported suffixes are taken from
folders (a file named explicitly with another suffix is reported). A symbolic
link inside a folder is followed only when it stays inside that folder, unless
`follow_links` is set; a link loop, a broken link, a FIFO or a device is
skipped with a one-line reason, as is a file over the size limit. Each file
gets a document id: its path relative to the folder it was found in, without
suffix (`a`, `sub/deeper/b`), or its stem when it was named directly. This
module reads no file's content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".docx", ".pdf")
# Formats their reader opens from the file itself (binary containers): `read_file` decodes nothing.
BINARY_SUFFIXES = (".docx", ".pdf")
# Files over this many bytes are skipped with a notice (Config can change it):
# a book-length PDF is a few MB; 50 MB of text is rather a dump or a mistake.
DEFAULT_MAX_BYTES = 50_000_000


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the id its document gets."""

    path: Path
    doc_id: str


@dataclass(frozen=True)
class Skipped:
    """A path that was not taken, and why (one line)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    skipped: tuple[Skipped, ...]


def unsupported(suffix: str) -> str:
    return f"unsupported file type {suffix or '(no extension)'!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"


def discover(paths: Sequence[Path], *, follow_links: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Discovery:
    """The supported files under `paths`, in order, each once, and what was skipped."""
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen_files: set[tuple[int, int]] = set()
    ids: dict[str, str] = {}

    def take(path: Path, doc_id: str) -> None:
        try:
            st = path.stat()
        except OSError as e:
            skipped.append(Skipped(str(path), f"cannot read: {e.strerror or e}"))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            return  # the same file reached twice (a link, or a folder given twice)
        if max_bytes is not None and st.st_size > max_bytes:
            skipped.append(Skipped(str(path), f"{st.st_size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB "
                                              "limit per file (--max-file-mb)"))
            return
        if doc_id in ids:
            skipped.append(Skipped(str(path), f"same document id {doc_id!r} as {ids[doc_id]}; skipped"))
            return
        seen_files.add(key)
        ids[doc_id] = str(path)
        files.append(SourceFile(path, doc_id))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _walk(path, follow_links, skipped)
            if not found:
                skipped.append(Skipped(str(path), f"no {', '.join(SUPPORTED_SUFFIXES)} file in this folder"))
            for f in found:
                take(f, f.relative_to(path).with_suffix("").as_posix())
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                take(path, path.stem)
            else:
                skipped.append(Skipped(str(path), unsupported(path.suffix)))
        elif path.is_symlink():
            skipped.append(Skipped(str(path), "broken link"))
        elif path.exists():
            skipped.append(Skipped(str(path), f"not a regular file or folder ({_kind(path)})"))
        else:
            skipped.append(Skipped(str(path), "no such file or folder"))
    return Discovery(tuple(files), tuple(skipped))


def _walk(root: Path, follow_links: bool, skipped: list[Skipped]) -> list[Path]:
    """Supported files under `root`, sorted depth-first; links and odd files judged on the way."""
    root_real = root.resolve()
    out: list[Path] = []
    visited: set[tuple[int, int]] = set()

    def visit(folder: Path, real: Path) -> None:
        try:
            st = real.stat()
        except OSError as e:
            skipped.append(Skipped(str(folder), f"cannot read: {e.strerror or e}"))
            return
        if (st.st_dev, st.st_ino) in visited:
            skipped.append(Skipped(str(folder), "link loop (a folder that contains itself); not followed"))
            return
        visited.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            skipped.append(Skipped(str(folder), f"cannot read: {e.strerror or e}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            target = path
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except FileNotFoundError:
                    skipped.append(Skipped(str(path), "broken link"))
                    continue
                except (OSError, RuntimeError):
                    skipped.append(Skipped(str(path), "link loop; not followed"))
                    continue
                if not follow_links and not target.is_relative_to(root_real):
                    skipped.append(Skipped(str(path), f"link to {target}, outside the folder; not followed "
                                                      "(--follow-links to follow it)"))
                    continue
            try:
                mode = target.stat().st_mode
            except OSError as e:
                skipped.append(Skipped(str(path), f"cannot read: {e.strerror or e}"))
                continue
            if stat.S_ISDIR(mode):
                visit(path, target)
            elif stat.S_ISREG(mode):
                if path.suffix.lower() in SUPPORTED_SUFFIXES:
                    out.append(path)
            elif path.suffix.lower() in SUPPORTED_SUFFIXES:  # a FIFO named like a document would block a reader
                skipped.append(Skipped(str(path), f"not a regular file ({_kind(target)}); skipped"))

    visit(root, root_real)
    return out


def _kind(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        return "unreadable"
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"
