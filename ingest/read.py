"""Landing files: paths, folders and globs in; chunks of raw records (one per line or element) out.

Formats (docs/contract.md §2): NDJSON (`.ndjson`, `.jsonl`), JSON documents (`.json`: an array,
or a list response `{"data": [...]}`) and JWT lines (`.jwt`), each optionally gzip-compressed
(`.gz`). A line may hold any kind of record, so the reader only splits; `decode` decides what
each record is.

Files are read as landing folders really hold them (docs/contract.md §9):
- A line file that can grow (not gzip) yields only lines that end in a newline, and its last
  line when that is already a complete JSON value or JWT. An unfinished last line is *pending*:
  not yielded; the chunk says so, and the next load starts at its first byte.
- A JSON document is streamed element by element (a 300 MB export is never held whole), each
  element as its exact text (numbers keep their spelling, as the identity rule needs).
- A file that cannot be read whole raises `FileFailed` with the reason the quarantine records
  (`unreadable_file`, `corrupt_gzip`, `invalid_json_document`); the load discards what it
  staged of that file.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ingest import canonical, hs256
from ingest.errors import FileFailed, LandingPathError, QuarantineReason

LINE_SUFFIXES = (".ndjson", ".jsonl", ".jwt")
DOCUMENT_SUFFIXES = (".json",)
LANDING_SUFFIXES = (*LINE_SUFFIXES, *DOCUMENT_SUFFIXES)
ACCEPTED = "accepted: .ndjson, .jsonl, .json, .jwt, each optionally .gz"
_NOT_DATA = (".", "_")  # names a folder walk skips
CHUNK_BYTES = 16 << 20  # about 16k Dialpad events: a chunk's rows stay well under 200 MB
CHUNK_RECORDS = 20_000  # elements of a JSON document per chunk
_HASH_BLOCK = 1 << 20
_BOM = b"\xef\xbb\xbf"
# an object with any of these keys is one record (an event, an envelope), whatever its `data`
# member holds; without them, a `data` array makes it a list response
_RECORD_KEYS = frozenset({"call_id", "callId", "state", "status", "payload", "body"})


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One line of a line-based file, or one element of a JSON document.

    `received_at_ms` is set when the record is an element taken out of an envelope earlier
    (a quarantined element decoded again): the envelope's time still applies to it.
    """

    line: int
    text: str
    is_utf8: bool = True
    received_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines of a line file (split by whoever decodes them), or a document's elements."""

    data: bytes | list[RawRecord]
    first_line: int  # lines (or elements) of the file before this chunk
    end_offset: int  # bytes of the file (as stored on disk) consumed so far
    end_line: int
    pending: int = 0  # 1 on a file's last chunk when its unfinished last line was left pending

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
    return _format_name(path).endswith(LANDING_SUFFIXES)


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def is_json_document(path: Path) -> bool:
    """A `.json` file holds one JSON document (an array or a list response); the others lines."""
    return _format_name(path).endswith(DOCUMENT_SUFFIXES)


def can_grow(path: Path) -> bool:
    """A file a writer may still be appending lines to: an uncompressed line file."""
    return not is_gzip(path) and not is_json_document(path)


def _format_name(path: Path) -> str:
    return path.name.lower().removesuffix(".gz")


def display_path(path: Path) -> str:
    """The path as text that any writer can store: bytes that are not UTF-8 as `\\xff`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def expand_paths(paths: Sequence[str]) -> list[Path]:
    """Files, folders (recursive: only landing files) and globs, in a stable order, each once.

    A folder or a glob yields its landing files (by extension) and skips the rest; a folder walk
    also skips files and folders whose names start with `.` or `_` (the data-lake convention:
    `_SUCCESS`, `.callmart/` state, a sample's `_expected/` results). A file named on its own
    must be a landing file. A path that does not exist is an error; a file that exists but
    cannot be read is returned (the load records it as a failed file and goes on).
    """
    found: list[Path] = []
    for given in paths:
        if glob.has_magic(given):
            matches = sorted(Path(m) for m in glob.glob(given, recursive=True))
            if not matches:
                raise LandingPathError(given, "matches no file")
            found.extend(m for m in matches if m.is_file() and is_landing_file(m))
            for folder in (m for m in matches if m.is_dir()):
                found.extend(_landing_files_below(folder))
        else:
            path = Path(given)
            if path.is_dir():
                found.extend(_landing_files_below(path))
            elif path.is_file():
                if not is_landing_file(path):
                    raise LandingPathError(given, f"not a landing file ({ACCEPTED})")
                found.append(path)
            elif path.exists():
                raise LandingPathError(given, "not a regular file or folder")
            else:
                raise LandingPathError(given, "no such file or folder")
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def _landing_files_below(folder: Path) -> list[Path]:
    found: list[Path] = []
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(_NOT_DATA)]
        found.extend(
            Path(parent, name)
            for name in files
            if not name.startswith(_NOT_DATA) and is_landing_file(Path(name))
        )
    return sorted(found)


def fingerprint(path: Path, prefix_bytes: int | None = None) -> Fingerprint:
    """sha256 of the file as stored, and of its first `prefix_bytes` bytes, in one pass.

    Raises FileFailed (`unreadable_file`) when the file cannot be read.
    """
    whole = hashlib.sha256()
    prefix = hashlib.sha256() if prefix_bytes is not None else None
    seen = 0
    prefix_digest: str | None = (
        prefix.hexdigest() if prefix is not None and not prefix_bytes else None
    )
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
        raise FileFailed(QuarantineReason.UNREADABLE_FILE, error.strerror or str(error)) from error
    return Fingerprint(size=seen, sha256=whole.hexdigest(), prefix_sha256=prefix_digest)


def prefix_sha256(path: Path, size: int) -> str:
    """sha256 of the first `size` bytes of the file."""
    digest = hashlib.sha256()
    left = size
    try:
        with path.open("rb") as handle:
            while left > 0 and (block := handle.read(min(_HASH_BLOCK, left))):
                digest.update(block)
                left -= len(block)
    except OSError as error:
        raise FileFailed(QuarantineReason.UNREADABLE_FILE, error.strerror or str(error)) from error
    return digest.hexdigest()


def read_chunks(
    path: Path, start_offset: int = 0, start_line: int = 0, stop_offset: int | None = None
) -> Iterator[Chunk]:
    """Yield the file in chunks; `start_offset` resumes a grown, uncompressed file.

    `stop_offset` (the size the load fingerprinted) keeps a line file that is still growing
    from being read past what was hashed. Raises FileFailed when the file cannot be read whole.
    """
    try:
        if is_json_document(path):
            yield from _document_chunks(path)
        else:
            yield from _line_chunks(path, start_offset, start_line, stop_offset)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise FileFailed(QuarantineReason.CORRUPT_GZIP, _reason_text(error)) from error
    except OSError as error:
        reason = (
            QuarantineReason.CORRUPT_GZIP
            if is_gzip(path) and not isinstance(error, PermissionError | FileNotFoundError)
            else QuarantineReason.UNREADABLE_FILE
        )
        raise FileFailed(reason, _reason_text(error)) from error


def _reason_text(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _open(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """(the stream to read, the file on disk whose position measures progress)."""
    raw = path.open("rb")
    if is_gzip(path):
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def _line_chunks(
    path: Path, start_offset: int, start_line: int, stop_offset: int | None
) -> Iterator[Chunk]:
    """Blocks of whole lines. The last line without its newline ends the final block when it
    is complete (or cannot grow: gzip); otherwise it is left pending."""
    stream, on_disk = _open(path)
    growing = stream is on_disk
    with on_disk, stream:
        if start_offset:
            stream.seek(start_offset)
        left = stop_offset - start_offset if growing and stop_offset is not None else None
        lines_before = start_line
        consumed = start_offset
        carry = b""
        first = start_offset == 0
        while True:
            block = stream.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            if first:
                block = block.removeprefix(_BOM)  # a byte-order mark is not part of line 1
                first = False
            cut = block.rfind(b"\n") + 1
            if not cut:
                carry += block  # one line longer than a block: keep reading
                continue
            data, carry = carry + block[:cut], block[cut:]
            lines = data.count(b"\n")
            # a gzip stream's carry is uncompressed: there the offset only measures progress
            consumed = on_disk.tell() - (len(carry) if growing else 0)
            yield Chunk(data, lines_before, consumed, lines_before + lines)
            lines_before += lines
        if carry.strip() and (not growing or is_complete_record(carry)):
            yield Chunk(carry, lines_before, on_disk.tell(), lines_before + 1)
        else:
            # an unfinished last line waits for its newline: consumed stops at its first byte
            # (whitespace alone is no record, and waits too: it may become one)
            yield Chunk(b"", lines_before, consumed, lines_before, pending=int(bool(carry.strip())))


def is_complete_record(data: bytes) -> bool:
    """Whether an unterminated last line is already whole: a JSON object, array or string, or
    a JWT whose signature has its full length. A bare number or word may still grow."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False  # cut inside a character
    if text[:1] in ("{", "[", '"'):
        try:
            canonical.loads(text)
        except ValueError:
            return False
        return True
    try:
        parts = hs256.load(text)
    except hs256.TokenError:
        return False
    return parts.header.get("alg") != "HS256" or len(parts.signature) == hs256.SIGNATURE_BYTES


def _record(line_no: int, raw_line: bytes) -> RawRecord:
    """The line as text; a line that is not UTF-8 keeps its text (bytes replaced) for quarantine."""
    try:
        return RawRecord(line_no, raw_line.decode("utf-8").strip())
    except UnicodeDecodeError:
        return RawRecord(line_no, raw_line.decode("utf-8", errors="replace").strip(), is_utf8=False)


# --- JSON documents, streamed ----------------------------------------------------------------

# Runs of a JSON text that hold no bracket: any other byte, or a whole string (possessive, so
# that a string the buffer cuts off stops the run at its opening quote)
_FLAT = re.compile(rb'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_SCALAR = re.compile(rb"[^,\]}\s]+")
_SPACE = re.compile(rb"[ \t\r\n]*+")


class _Invalid(Exception):
    """The document is not one JSON value of the shapes a `.json` landing file may hold."""


class _Document:
    """A JSON document read in blocks: values are found by their brackets and strings, and a
    buffer holds only the value being read (plus one block)."""

    def __init__(self, path: Path) -> None:
        self._stream, self._on_disk = _open(path)
        self._buffer = b""
        self._at = 0  # position in the buffer
        self._eof = False
        self._started = False

    def close(self) -> None:
        self._stream.close()
        self._on_disk.close()

    @property
    def offset(self) -> int:
        """Bytes of the file on disk read so far (progress)."""
        return self._on_disk.tell()

    def _more(self) -> bool:
        """Read a block, dropping what was consumed; False at the end of the file."""
        if self._eof:
            return False
        block = self._stream.read(CHUNK_BYTES)
        if not self._started:
            block = block.removeprefix(_BOM)
            self._started = True
        if not block:
            self._eof = True
            return False
        self._buffer = self._buffer[self._at :] + block
        self._at = 0
        return True

    def peek(self) -> int | None:
        """The next byte that is not whitespace (consumes the whitespace), None at the end."""
        while True:
            self._at = _SPACE.match(self._buffer, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._buffer):
                return self._buffer[self._at]
            if not self._more():
                return None

    def expect(self, allowed: bytes) -> int:
        """Consume one of the `allowed` bytes (after whitespace) and return it."""
        byte = self.peek()
        if byte is None:
            raise _Invalid("the document ends too early")
        if byte not in allowed:
            raise _Invalid(f"unexpected {chr(byte)!r} at byte {self.offset}")
        self._at += 1
        return byte

    def value(self) -> bytes:
        """The next JSON value's exact text (after whitespace), consumed."""
        if self.peek() is None:
            raise _Invalid("the document ends too early")
        while (end := _value_end(self._buffer, self._at, self._eof)) is None:
            if not self._more():
                raise _Invalid("the document ends inside a value")
        text = self._buffer[self._at : end]
        self._at = end
        return text

    def enter_array(self) -> Iterator[None]:
        """Positions the reader at each element of the array it stands at, in turn."""
        self.expect(b"[")
        if self.peek() == ord("]"):
            self._at += 1
            return
        while True:
            yield
            if self.expect(b",]") == ord("]"):
                return

    def members(self) -> Iterator[str]:
        """Each member key of the object it stands at; the caller consumes the value."""
        self.expect(b"{")
        if self.peek() == ord("}"):
            self._at += 1
            return
        while True:
            key = self.value()
            if not key.startswith(b'"'):
                raise _Invalid("an object key is not a string")
            self.expect(b":")
            yield canonical.loads(key)
            if self.expect(b",}") == ord("}"):
                return

    def end(self) -> None:
        if self.peek() is not None:
            raise _Invalid(
                f"more than one JSON value (at byte {self.offset}): NDJSON belongs in .ndjson"
            )


def _value_end(buffer: bytes, at: int, eof: bool) -> int | None:
    """Where the JSON value starting at `at` ends, or None when the buffer ends first."""
    first = buffer[at]
    if first == ord('"'):
        match = _STRING.match(buffer, at)
        return match.end() if match else None
    if first in b"[{":
        depth = 0
        position = at
        while True:
            position = _FLAT.match(buffer, position).end()  # type: ignore[union-attr]
            if position >= len(buffer):
                return None
            byte = buffer[position]
            if byte in b"[{":
                depth += 1
            elif byte in b"]}":
                depth -= 1
                if depth == 0:
                    return position + 1
            else:  # a string the buffer cuts off
                return None
            position += 1
    match = _SCALAR.match(buffer, at)
    if match is None:
        raise _Invalid(f"unexpected {chr(first)!r}")
    if match.end() == len(buffer) and not eof:
        return None
    return match.end()


def _document_chunks(path: Path) -> Iterator[Chunk]:
    """A `.json` file: an array's elements are its records; so are a list response's `data`
    elements; any other object (an event, an envelope) or value is one record."""
    is_list_response = _is_list_response(path)
    document = _Document(path)
    try:
        if document.peek() == ord("[") or is_list_response:
            yield from _element_chunks(document, is_list_response)
        else:
            text = document.value()
            document.end()
            yield Chunk([_element_record(1, text)], 0, document.offset, 1)
    except _Invalid as error:
        raise FileFailed(QuarantineReason.INVALID_JSON_DOCUMENT, str(error)) from error
    finally:
        document.close()


def _element_chunks(document: _Document, in_data: bool) -> Iterator[Chunk]:
    """The elements of the top-level array (or of a list response's `data`), in chunks."""
    batch: list[RawRecord] = []
    count = 0

    def elements() -> Iterator[None]:
        if not in_data:
            yield from document.enter_array()
            return
        for key in document.members():
            if key == "data":
                yield from document.enter_array()
            else:
                document.value()

    for _ in elements():
        count += 1
        batch.append(_element_record(count, document.value()))
        if len(batch) == CHUNK_RECORDS:
            yield Chunk(batch, count - len(batch), document.offset, count)
            batch = []
    document.end()
    yield Chunk(batch, count - len(batch), document.offset, count)


def _is_list_response(path: Path) -> bool:
    """A first pass over a document that is an object: its top-level keys, its `data` elements
    skipped one by one (never held together). A list response has a `data` array and none of
    an event's or envelope's keys."""
    document = _Document(path)
    try:
        if document.peek() != ord("{"):
            return False
        keys: set[str] = set()
        data_is_array = False
        for key in document.members():
            keys.add(key)
            if key == "data" and document.peek() == ord("["):
                data_is_array = True
                for _ in document.enter_array():
                    document.value()
            else:
                document.value()
        return data_is_array and not keys & _RECORD_KEYS
    except _Invalid as error:
        raise FileFailed(QuarantineReason.INVALID_JSON_DOCUMENT, str(error)) from error
    finally:
        document.close()


def _element_record(number: int, text: bytes) -> RawRecord:
    """An element as a record: a string element (a JWT, say) as the string it holds, any other
    as its exact text. An element that is not JSON makes the document invalid; one that is
    JSON but nested too deeply to decode is a record (quarantined as `not_json`)."""
    record = _record(number, text)
    if not record.is_utf8:
        raise _Invalid(f"element {number} is not UTF-8 text")
    try:
        value = canonical.loads(record.text)
    except canonical.TooDeep:
        return record
    except ValueError as error:
        raise _Invalid(f"element {number} is not JSON: {error}") from error
    if isinstance(value, str):
        return RawRecord(number, value.strip())
    return record
