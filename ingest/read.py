"""Landing files: paths, folders and globs in; chunks of raw records (one per line or element) out.

Formats (CONTRACT section 2): NDJSON (`.ndjson`, `.jsonl`), JSON arrays (`.json`) and JWT lines
(`.jwt`), each optionally gzip-compressed (`.gz`). A line may hold any kind of record, so the
reader only splits; `decode` decides what each record is.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ingest import canonical
from ingest.errors import LandingPathError

LANDING_SUFFIXES = (".ndjson", ".jsonl", ".json", ".jwt")
CHUNK_BYTES = 16 << 20  # about 16k Dialpad events: a chunk's rows stay well under 200 MB
CHUNK_RECORDS = 20_000  # elements of a JSON array per chunk
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One line of a line-based file, or one element of a JSON array file."""

    line: int
    text: str
    is_utf8: bool = True


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines of a line file (split by whoever decodes them), or a document's elements."""

    data: bytes | list[RawRecord]
    first_line: int  # lines of the file before this chunk
    end_offset: int  # bytes of the file (as stored on disk) consumed so far
    end_line: int

    def records(self) -> list[RawRecord]:
        if isinstance(self.data, list):
            return self.data
        records = []
        for line_no, raw_line in enumerate(self.data.split(b"\n"), self.first_line + 1):
            record = _record(line_no, raw_line)
            if record.text:
                records.append(record)
        return records


@dataclass(frozen=True, slots=True)
class Fingerprint:
    size: int
    sha256: str
    prefix_sha256: str | None  # sha256 of the first `prefix_bytes` bytes, when asked for


def is_landing_file(path: Path) -> bool:
    name = path.name.lower()
    name = name.removesuffix(".gz")
    return name.endswith(LANDING_SUFFIXES)


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def is_json_document(path: Path) -> bool:
    """A `.json` file holds one JSON document (usually an array); the others hold lines."""
    return path.name.lower().removesuffix(".gz").endswith(".json")


def expand_paths(paths: Sequence[str]) -> list[Path]:
    """Files, folders (recursive: only landing files) and globs, in a stable order, each once."""
    found: list[Path] = []
    for given in paths:
        if glob.has_magic(given):
            matches = sorted(Path(m) for m in glob.glob(given, recursive=True))
            files = [m for m in matches if m.is_file()]
            folders = [m for m in matches if m.is_dir()]
            if not matches:
                raise LandingPathError(given, "matches no file")
            found.extend(files)
            for folder in folders:
                found.extend(_landing_files_below(folder))
        else:
            path = Path(given)
            if path.is_dir():
                found.extend(_landing_files_below(path))
            elif path.is_file():
                found.append(path)
            elif path.exists():
                raise LandingPathError(given, "not a regular file or folder")
            else:
                raise LandingPathError(given, "no such file or folder")
    unique: dict[Path, None] = {}
    for path in found:
        if not os.access(path, os.R_OK):
            raise LandingPathError(str(path), "permission denied")
        unique.setdefault(path.resolve(), None)
    return list(unique)


def _landing_files_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_landing_file(p))


def fingerprint(path: Path, prefix_bytes: int | None = None) -> Fingerprint:
    """sha256 of the file as stored, and of its first `prefix_bytes` bytes, in one pass."""
    whole = hashlib.sha256()
    prefix = hashlib.sha256() if prefix_bytes is not None else None
    seen = 0
    prefix_digest: str | None = None
    try:
        with path.open("rb") as handle:
            while block := handle.read(_HASH_BLOCK):
                if prefix is not None and prefix_digest is None:
                    take = min(len(block), prefix_bytes - seen)  # type: ignore[operator]
                    prefix.update(block[:take])
                    if seen + len(block) >= prefix_bytes:  # type: ignore[operator]
                        prefix_digest = prefix.hexdigest()
                whole.update(block)
                seen += len(block)
    except OSError as error:
        raise LandingPathError(str(path), error.strerror or str(error)) from error
    return Fingerprint(size=seen, sha256=whole.hexdigest(), prefix_sha256=prefix_digest)


def read_chunks(
    path: Path,
    start_offset: int = 0,
    start_line: int = 0,
) -> Iterator[Chunk]:
    """Yield the file in chunks; `start_offset` resumes a grown, uncompressed file."""
    chunk_bytes = CHUNK_BYTES
    try:
        if is_json_document(path):
            yield from _json_document_chunks(path, chunk_bytes)
        else:
            yield from _line_chunks(path, start_offset, start_line, chunk_bytes)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise LandingPathError(str(path), f"cannot be read: {error}") from error


def _open(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """(the stream to read, the file on disk whose position measures progress)."""
    raw = path.open("rb")
    if is_gzip(path):
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def _line_chunks(
    path: Path, start_offset: int, start_line: int, chunk_bytes: int
) -> Iterator[Chunk]:
    """Blocks of whole lines; a last line without its newline ends the final block."""
    stream, on_disk = _open(path)
    with on_disk, stream:
        if start_offset:
            stream.seek(start_offset)
        lines_before = start_line
        carry = b""
        while True:
            block = stream.read(chunk_bytes)
            if not block:
                break
            cut = block.rfind(b"\n") + 1
            if not cut:
                carry += block  # one line longer than a block: keep reading
                continue
            data, carry = carry + block[:cut], block[cut:]
            lines = data.count(b"\n")
            # a gzip stream's carry is uncompressed: there the offset only measures progress
            consumed = on_disk.tell() - (len(carry) if on_disk is stream else 0)
            yield Chunk(data, lines_before, consumed, lines_before + lines)
            lines_before += lines
        if carry:
            yield Chunk(carry, lines_before, on_disk.tell(), lines_before + 1)
        elif lines_before == start_line:
            yield Chunk(b"", lines_before, on_disk.tell(), lines_before)


def _json_document_chunks(path: Path, chunk_bytes: int) -> Iterator[Chunk]:
    """A `.json` file: an array's elements are the records; a lone object is one record.

    A `.json` file that is not one JSON document (NDJSON under the wrong name) is read as lines.
    """
    stream, on_disk = _open(path)
    with on_disk, stream:
        content = stream.read()
        size = on_disk.tell()
    try:
        document = canonical.loads(content.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        yield from _line_chunks(path, 0, 0, chunk_bytes)
        return
    elements = document if isinstance(document, list) else [document]
    for first in range(0, max(len(elements), 1), CHUNK_RECORDS):
        batch = elements[first : first + CHUNK_RECORDS]
        records = [
            RawRecord(first + index + 1, _element_text(element))
            for index, element in enumerate(batch)
        ]
        yield Chunk(records, first, size, first + len(batch))


def _element_text(element: object) -> str:
    if isinstance(element, str):
        return element  # e.g. a JWT string
    return canonical.canonical_json(element)


def _record(line_no: int, raw_line: bytes) -> RawRecord:
    """The line as text; a line that is not UTF-8 keeps its text (bytes replaced) for quarantine."""
    try:
        return RawRecord(line_no, raw_line.decode("utf-8").strip())
    except UnicodeDecodeError:
        return RawRecord(line_no, raw_line.decode("utf-8", errors="replace").strip(), is_utf8=False)
