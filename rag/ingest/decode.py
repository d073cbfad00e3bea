"""Reading a file into text: a byte-order mark decides, then strict UTF-8, then the likeliest legacy encoding.

Also home to `IngestError`, the error of every ingestion step a user can fix."""

from __future__ import annotations

import codecs
from pathlib import Path

from ..files import BINARY_SUFFIXES, SUPPORTED_SUFFIXES, unsupported


class IngestError(ValueError):
    """A file that cannot be turned into a document; the message is one line naming the file."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def read_file(path: Path) -> tuple[str, str | None]:
    """The file's text and, when it was not UTF-8, a notice saying how it was decoded
    (no text for a binary format such as PDF or DOCX, which its reader opens itself)."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise IngestError(path, unsupported(path.suffix))
    if path.suffix.lower() in BINARY_SUFFIXES:  # its reader opens it (rag.ingest.assembly.parse_document)
        if not path.is_file():
            raise IngestError(path, "vanished while being read")
        return "", None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IngestError(path, "vanished while being read") from None
    except OSError as e:
        raise IngestError(path, f"cannot read: {e.strerror or e}") from None
    try:
        return decode_text(data)
    except ValueError as e:
        raise IngestError(path, str(e)) from None


# Byte-order marks, the four-byte UTF-32 ones before UTF-16's (FF FE starts both).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)  # fmt: skip


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Text of a file's bytes and, when it was not UTF-8, a notice naming the encoding used.

    A byte-order mark decides (UTF-8, UTF-16, UTF-32); then strict UTF-8; then
    charset-normalizer's guess among legacy encodings (Windows-1252, Latin-9,
    UTF-16 without a mark…). Raises ValueError for empty or binary content."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise ValueError(f"starts with a {codec.upper()} byte-order mark but does not decode as it") from None
            if not text.strip():
                raise ValueError("empty file")
            return text, None if codec == "utf-8-sig" else f"read as {codec.upper()} (byte-order mark)"
    if not data.strip():
        raise ValueError("empty file")
    if b"\x00" not in data[:8192]:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            pass
    for encoding in _guess_encodings(data):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _mostly_text(text):
            return text, f"not UTF-8; read as {encoding}"
    raise ValueError("binary file, not text")


def _guess_encodings(data: bytes) -> list[str]:
    """Encodings to try, likeliest first: charset-normalizer's ranking, except that
    Windows-1252 (the usual legacy encoding of Western European text) wins over
    code pages that decode the same bytes no less plausibly (cp850, cp1250…)."""
    from charset_normalizer import from_bytes

    results = list(from_bytes(data[: 1 << 20]))
    if not results:
        return []
    least = min(m.chaos for m in results)
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    plausible = [m for m in results if m.chaos <= least + 0.01]
    if western is not None and any(m.encoding == "cp1252" or str(m) == western for m in plausible):
        return ["cp1252", *(m.encoding for m in results)]
    return [m.encoding for m in results]


def _mostly_text(text: str) -> bool:
    head = text[:8192]
    controls = sum(ord(c) < 32 and c not in "\t\n\r\f" for c in head)
    return bool(head.strip()) and controls <= len(head) * 0.01
