"""How a load ends for the person or scheduler that started it: one line and an exit code
(README "Exit codes"). Operational faults (an unreadable inbox, a full disk, a lost lock) are
caught where they happen and end as one sentence saying what failed and what to do; a
traceback is shown only with `--verbose` (site-exports.md §5, v1.2)."""
from __future__ import annotations

import errno
import getpass
from contextlib import contextmanager
from typing import Iterator

import dagster as dg

OK = 0              # published, or nothing new to publish
NOT_PUBLISHED = 1   # the load ran; its audit refused to publish (failed dbt test, broken contract)
USAGE = 2           # the command line is wrong (argparse)
CONFIGURATION = 3   # the site registry is invalid, the inbox is not a folder
BUSY = 4            # another load is running on this HOME
FAULT = 5           # an operational fault: permissions, full disk, I/O error, lost lock
INTERNAL = 6        # an unexpected error (a bug): run with --verbose and send the output
SERVING = 7         # DuckDB published, but the PostgreSQL publication failed (it serves the last load)

EXIT_CODE_KEY = "exit_code"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid
        return "the loader's user"


def describe(exc: BaseException) -> str | None:
    """One sentence for an operational fault, or None when `exc` is not one."""
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return (f"the disk is full{where}: free space on it (old versions under HOME/versions, rejected "
                    "candidates under HOME/rejected) and run the load again")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return (f"permission denied{where}: the loader runs as {_user()}, who must be able to read the "
                    "inbox and write HOME; fix the permissions and run the load again")
        if exc.errno == errno.EROFS:
            return f"the file system is read-only{where}: HOME must be writable"
        return f"{exc.strerror or type(exc).__name__}{where}: check the disk and run the load again"
    text = str(exc)
    if "disk I/O error" in text or "database or disk is full" in text or "No space left" in text:
        return ("the disk could not be written (a disk I/O error: most likely it is full): free space on it "
                "and run the load again")
    return None


def failure(description: str, code: int) -> dg.Failure:
    """A dg.Failure the CLI ends with `code` (its metadata carries it)."""
    return dg.Failure(description=description, metadata={EXIT_CODE_KEY: code}, allow_retries=False)


@contextmanager
def faults_as_failures(doing: str) -> Iterator[None]:
    """Turn an operational fault raised inside into one dg.Failure sentence: "<doing>: <what
    failed and what to do>" with exit code FAULT."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        sentence = describe(exc)
        if sentence is None:
            raise
        raise failure(f"{doing}: {sentence}", FAULT) from exc


def exit_code_of(events) -> int:
    """The exit code a failed run asks for: the first failed step's, NOT_PUBLISHED for a
    dg.Failure that names none, FAULT or INTERNAL for other exceptions."""
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        user = data.user_failure_data
        if user is not None:
            value = (user.metadata or {}).get(EXIT_CODE_KEY)
            return int(getattr(value, "value", value)) if value is not None else NOT_PUBLISHED
        error = data.error
        names = set()
        while error is not None:
            names.add(error.cls_name)
            error = error.cause
        if names & {"OSError", "PermissionError", "IOException", "FileNotFoundError", "OperationalError"}:
            return FAULT
        return INTERNAL
    return NOT_PUBLISHED
