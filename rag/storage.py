"""Folders renvoi owns: claimed with a marker file, published atomically, checksummed.

The index and the model cache are both written this way. A folder is renvoi's
only when it carries the marker file written when renvoi created (or first
adopted) it; any other folder is never written into, emptied or replaced.
Inside an owned folder, each complete version of the content is a generation
(`gen-<time>-<id>/`), built under a temporary name and then made current by
replacing the `current` symbolic link in one rename, so a reader sees either
the previous generation or the new one, never a mix, and a process killed at
any moment leaves the previous generation current. The generation before the
current one is kept, so that a reader that resolved `current` just before a
swap finishes reading; older ones and those abandoned by dead processes are
removed by the next publication. Files a user puts into an owned folder are
left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

MARKER = ".renvoi-folder"
LOCK = ".renvoi-lock"
CURRENT = "current"
_GEN = "gen-"
_TMP = ".tmp-"
_KEEP_PREVIOUS = 1  # generations kept besides the current one, for readers mid-load


class NotOwnedError(OSError):
    """A folder renvoi did not create: it is never written into; the message names it."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by path relative to it (POSIX separators)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def write_json(path: Path, data, *, indent: int | None = None) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=indent) + "\n", encoding="utf-8")


def alive(pid: int) -> bool:
    """Whether a process with this id exists (under any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


# ---------------------------------------------------------------- ownership


def marker(folder: Path) -> dict | None:
    """The marker of an owned folder, or None when the folder carries none (or an unreadable one)."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("owner") == "renvoi" else None


def claim(folder: Path, kind: str, adopt: Callable[[Path], bool] = lambda folder: False,
          *, create: bool = True) -> Path:
    """Make sure `folder` is renvoi's `kind` folder, creating it with its marker when it
    does not exist or is empty. An existing folder without the marker is adopted only
    when `adopt(folder)` recognises renvoi's own older layout; otherwise NotOwnedError.
    `create=False` only checks (nothing is written): to fail before long work."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotOwnedError(f"{folder} is a file, not {_a(kind)} folder; choose another folder")
    found = marker(folder) if folder.is_dir() else None
    if found is not None:
        if found.get("kind") != kind:
            raise NotOwnedError(f"{folder} is renvoi's {found.get('kind')} folder, not {_a(kind)} folder; "
                                "choose another folder")
        return folder
    if folder.is_dir():
        entries = sorted(p.name for p in folder.iterdir())
        if entries and not adopt(folder):
            shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
            raise NotOwnedError(f"{folder} is not a renvoi {kind} folder (it holds {shown}); renvoi writes "
                                "only into folders it created: choose another folder")
    if not create:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{MARKER}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    write_json(tmp, {"owner": "renvoi", "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    os.replace(tmp, folder / MARKER)
    return folder


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


# ---------------------------------------------------------------- generations


def current(folder: Path) -> Path | None:
    """The current generation of an owned folder, or None when it has none."""
    link = Path(folder) / CURRENT
    for _ in range(5):  # a generation pruned between reading the link and looking: read it again
        try:
            target = os.readlink(link)
        except OSError:
            return None
        path = Path(folder) / target
        if path.is_dir():
            return path
    return None


def generations(folder: Path) -> list[Path]:
    """The generations an owned folder keeps (the current one and those kept for readers), oldest first."""
    return sorted((p for p in Path(folder).glob(f"{_GEN}*") if p.is_dir()), key=lambda p: p.name)


def publish(folder: Path, kind: str, build: Callable[[Path], None], *,
            adopt: Callable[[Path], bool] = lambda folder: False,
            legacy: Iterable[str] = ()) -> Path:
    """Build a new generation of `folder` with `build(tmp)` and make it current.

    `build` writes into an empty temporary folder; if it raises, nothing changes.
    `legacy`: names renvoi's older flat layout wrote at the top of the folder,
    removed once the new generation is current (an adopted older index).
    Returns the path of the new current generation."""
    folder = claim(folder, kind, adopt)
    with _lock(folder):
        prune(folder)
    tmp = folder / f"{_TMP}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        build(tmp)
        fsync_tree(tmp)
        # Writers take turns from here: one that prunes never removes a generation
        # another has renamed but not yet made current.
        with _lock(folder):
            gen = folder / f"{_GEN}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
            os.rename(tmp, gen)
            link = folder / f"{_TMP}link-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.symlink(gen.name, link)
            os.replace(link, folder / CURRENT)  # the one step that switches readers over
            _fsync_dir(folder)
            for name in legacy:
                _remove_legacy(folder / name)
            prune(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return gen


@contextlib.contextmanager
def _lock(folder: Path):
    """An exclusive lock among the processes writing `folder` (readers never wait)."""
    import fcntl

    with open(Path(folder) / LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prune(folder: Path) -> None:
    """Remove generations older than the current one and the one before it, and the
    temporary folders of builds whose process is gone."""
    folder = Path(folder)
    live = current(folder)
    gens = sorted((p for p in folder.glob(f"{_GEN}*") if p.is_dir()), key=lambda p: p.name)
    if live is not None:
        older = [g for g in gens if g.name < live.name]
        for g in older[: max(0, len(older) - _KEEP_PREVIOUS)]:
            shutil.rmtree(g, ignore_errors=True)
    for p in folder.glob(f"{_TMP}*"):
        pid = p.name.removeprefix(_TMP).removeprefix("link-").split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            if p.is_symlink() or p.is_file():
                p.unlink(missing_ok=True)
            else:
                shutil.rmtree(p, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    for p in Path(folder).rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- files in an owned folder


@contextlib.contextmanager
def swapped(changes: Iterable[tuple[Path | None, Path]]):
    """Put a copy of each source at its target (source None: remove the target), and undo
    it all if the block raises. A copy is written under a hidden name and renamed over
    the target in one step, so a process killed meanwhile leaves the old file or the new
    one, never none; what a target held is kept (a hard link, under a hidden name, which
    the corpus scan skips) until the block has ended."""
    done: list[tuple[Path, Path | None]] = []  # (target, where its previous content waits)
    try:
        for source, target in changes:
            target = Path(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            backup = None
            if target.exists():
                backup = target.with_name(f".{target.name}.{tag}.old")
                try:
                    os.link(target, backup)
                except OSError:  # a file system without hard links
                    shutil.copy2(target, backup)
            done.append((target, backup))
            if source is None:
                target.unlink(missing_ok=True)
                continue
            tmp = target.with_name(f".{target.name}.{tag}.new")
            try:
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        yield
    except BaseException:
        for target, backup in reversed(done):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        raise
    for _, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)


def _remove_legacy(path: Path) -> None:
    """Remove a file of the older flat layout; a folder only of what renvoi wrote in it
    (its files are removed one by one and the folder only when that leaves it empty)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        for p in sorted(path.rglob("*"), reverse=True):
            if p.is_file() and p.suffix in (".npy", ".json"):
                p.unlink(missing_ok=True)
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        if not any(path.iterdir()):
            path.rmdir()
