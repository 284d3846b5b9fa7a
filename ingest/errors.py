"""The one exception root the command line reports, and the quarantine reason codes."""

from __future__ import annotations

import errno
import os
from enum import StrEnum
from pathlib import Path

import duckdb


class CallmartError(Exception):
    """Root of every error the command line reports as one clear line."""


class LandingPathError(CallmartError):
    """A landing path does not exist, matches nothing, or cannot be read."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class SecretError(CallmartError):
    """A JWT secret file was named but cannot be read."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"cannot read the JWT secret file {path}: {why}")
        self.path = path


class BuildError(CallmartError):
    """The dbt build failed (a model error or an error-severity test)."""


class QuarantineReason(StrEnum):
    """Why a landing record was not loaded; stored in raw.quarantine.reason."""

    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    BAD_ENVELOPE = "bad_envelope"
    MALFORMED_JWT = "malformed_jwt"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ALGORITHM = "wrong_algorithm"
    NO_SECRET = "no_secret"
    NOT_AN_EVENT = "not_an_event"
    MISSING_ID = "missing_id"
    MISSING_CALL_ID = "missing_call_id"
    MISSING_STATE = "missing_state"
    MISSING_AGENT_ID = "missing_agent_id"  # an agent status event whose target.id is empty
    UNPARSEABLE_FIELD = "unparseable_field"
    NO_EVENT_TIME = "no_event_time"
    IMPLAUSIBLE_TIME = "implausible_time"  # its only event time lies outside the plausible window
    DECODE_FAILED = "decode_failed"  # decoding raised an error callmart did not foresee (a bug)
    # a whole file (docs/contract.md §9): one row, nothing of the file loaded
    UNREADABLE_FILE = "unreadable_file"
    CORRUPT_GZIP = "corrupt_gzip"
    INVALID_JSON_DOCUMENT = "invalid_json_document"


FAILED_FILE_REASONS = frozenset(
    {
        QuarantineReason.UNREADABLE_FILE,
        QuarantineReason.CORRUPT_GZIP,
        QuarantineReason.INVALID_JSON_DOCUMENT,
    }
)
FAILED_FILE_REASONS_SQL = ", ".join(f"'{reason}'" for reason in sorted(FAILED_FILE_REASONS))


class FileFailed(Exception):
    """A landing file that cannot be read whole; the load records it and goes on without it."""

    def __init__(self, reason: QuarantineReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RecordRejected(Exception):
    """Raised inside decoding for one record; caught and turned into a quarantine row.

    `provider` (dialpad | messagebird) when the record tells whose it is: a Dialpad JWT, a
    MessageBird signature, a payload classified before a field failed.
    """

    def __init__(
        self, reason: QuarantineReason, detail: str = "", provider: str | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
        self.provider = provider


class DiskFullError(CallmartError):
    """A write failed because the file system holding `path` is full (or over its quota)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no space left on device at {path}")
        self.path = path


def memory_limit() -> str:
    """DuckDB's memory limit for every load and build (docs/contract.md §9)."""
    return os.environ.get("CALLMART_MEMORY_LIMIT", "1GB")


class OutOfMemoryError(CallmartError):
    """DuckDB could not do its work within `memory_limit()`, even spilling to disk."""

    def __init__(self, error: duckdb.OutOfMemoryException) -> None:
        said = " ".join(str(error).split("Possible solutions")[0].split())
        super().__init__(
            f"out of memory within CALLMART_MEMORY_LIMIT={memory_limit()} ({said}): "
            "set a larger CALLMART_MEMORY_LIMIT"
        )


def out_of_memory_error(error: BaseException) -> OutOfMemoryError | None:
    """An `OutOfMemoryError` when `error` is DuckDB's out-of-memory error, else None."""
    return OutOfMemoryError(error) if isinstance(error, duckdb.OutOfMemoryException) else None


_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DISK_FULL_WORDS = ("no space left on device", "disk quota exceeded")
_NEARLY_FULL_BYTES = 1 << 20  # less free than this where a write just failed: a full disk


def disk_full_error(error: BaseException, path: Path) -> DiskFullError | None:
    """A `DiskFullError` ("no space left on device at PATH") when `error` comes from a full
    disk, else None.

    DuckDB tells a full disk in several ways: "Could not write file ...: No space left on
    device", often hidden behind what failed next ("cannot rollback - no transaction is
    active" from the rollback after a failed commit), or not at all ("Invalid thrift:
    transport error" when a Parquet chunk was cut short). So the ENOSPC (or EDQUOT) errno or
    its words are looked for along the chain of causes, and where nothing says so, a file
    system at `path` with less than 1 MiB free decides. Call it before removing what the
    failed write left behind, while the free space is still what the write met. `path` is
    the file (or folder) being written, named in the message.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_FULL_ERRNOS:
            return DiskFullError(path)
        if any(words in str(current).lower() for words in _DISK_FULL_WORDS):
            return DiskFullError(path)
        pending += [current.__cause__, current.__context__]
    return DiskFullError(path) if _free_bytes(path) < _NEARLY_FULL_BYTES else None


def _free_bytes(path: Path) -> int:
    """Bytes free to an unprivileged writer on the file system of `path` (or of its nearest
    existing folder); a very large number when that cannot be told."""
    for folder in (path, *path.parents):
        try:
            stats = os.statvfs(folder)
        except OSError:
            continue
        return stats.f_bavail * stats.f_frsize
    return 1 << 62
