"""Find what sites dropped into the inbox (site-exports.md §1: one inbox, sub-folders allowed).

`discover` returns the readable files and, separately, the entries it will not read, each with
a reason for the manifest: nothing in the inbox disappears silently. Decisions:
- Symbolic links are read only when they point to a regular file inside the inbox; a link
  leading outside (or broken, or to a folder) is refused and its target is never opened.
- Operating-system clutter (`.DS_Store`, `Thumbs.db`, `desktop.ini`, AppleDouble `._*` files
  and folders like `__MACOSX`) is skipped without a trace: it is not a site's export.
- Any other hidden entry (name starting with ".") is refused, not read: upload tools write
  partial files that way, and a real export should not be hidden.
- Anything that is not a regular file (FIFO, socket, device) is refused without opening it.
- A name that is not UTF-8 text, or that holds control characters (a newline, an escape
  sequence), is refused unread: such a name cannot be stored, and printed in an alert or on a
  terminal it could forge lines or colours. The manifest shows it escaped (`\\xff`, `\\n`).
- A sub-folder that cannot be read (an upload made with umask 077 by another user) is refused as
  one entry, named with a trailing "/": its files cannot even be listed, so they are named by
  the folder; the rest of the inbox loads (site-exports.md §5, v1.2). An inbox that cannot be
  read at all raises PermissionError: that is an operational fault, never "no new file".
Refused entries carry a stable pseudo-hash "unread:<hex>" (derived from path and reason), so a
second load of the same inbox recognises them and records nothing new.

A file's sha256 is its identity (the manifest's). Hashing the whole inbox on every load cost
about 1.1 s for the 926 MB of 100,000 subjects, most of a one-site nightly load's walk, so
`HashCache` keeps each file's hash with its stat stamp and a later walk trusts the hash only
while the stamp is unchanged (docs/decisions.md "Inbox hashes kept by stat stamp").
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import BinaryIO, NamedTuple

from sources import reason_codes as rc
from sources.model import FileRefused, InboxFile
from sources.parsing import printable

IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
IGNORED_PREFIXES = ("._",)
IGNORED_FOLDERS = frozenset({"__MACOSX", ".Trashes", ".Spotlight-V100", ".fseventsd", ".TemporaryItems"})

_BLOCK = 1 << 20
_OPEN_FILES = Path("/proc/self/fd")


class UnreadEntry(NamedTuple):
    """An inbox entry that is refused without being read (unpacks as rel_path, sha256, reason, code)."""
    rel_path: str
    sha256: str
    reason: str
    code: str          # sources.reason_codes


def _digest(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    while block := fh.read(_BLOCK):
        digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return _digest(fh)


def open_inside(path: Path, root: Path) -> BinaryIO:
    """Open `path` for reading only if what was opened is a regular file inside `root`.

    Discovery checks links before anything is read, but an entry can be swapped for a link (or
    a FIFO) between discovery and reading. So the check is repeated on what was actually opened
    (/proc/self/fd names the real file), and nothing outside the inbox is ever read. O_NONBLOCK:
    opening a FIFO must not hang the load. Raises FileRefused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise FileRefused(f"the file cannot be opened: {exc.strerror or exc}", code=rc.INBOX_UNREADABLE) from None
    fh = os.fdopen(fd, "rb")
    try:
        opened = Path(os.readlink(_OPEN_FILES / str(fd))) if _OPEN_FILES.is_dir() else path.resolve()
        if not _inside(opened, root):
            raise FileRefused("the file was replaced by a link to a file outside the inbox after it was "
                              "found: not read (copy the file into the inbox instead)", code=rc.INBOX_SWAPPED_LINK)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileRefused("the file was replaced by something that is not a regular file after it was "
                              "found: not read", code=rc.INBOX_SWAPPED_NOT_REGULAR)
    except BaseException:
        fh.close()
        raise
    return fh


def open_inbox_file(file: InboxFile) -> BinaryIO:
    """`open_inside` for a discovered file: its inbox is its path minus its rel_path."""
    return open_inside(file.path, file.path.parents[file.rel_path.count("/")].resolve())


def _stamp(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


class HashCache:
    """sha256 of inbox files by rel_path and stat stamp (device, inode, size, mtime and ctime in
    ns), kept in a JSON file between loads.

    Why the stamp can be trusted: any write to a file, and any rename onto its path, sets its
    ctime to the time of the change, and no user tool can set ctime (`touch -d` sets mtime, and
    ctime to now). A change in the same clock tick as the stamp was taken could leave it equal
    (git's "racily clean" entries), so a hash is remembered only for a file that had not
    changed for QUIET_NS before it was hashed, and whose stamp was the same after hashing.
    A missing or unreadable cache file means hashing everything, never a failed load."""

    QUIET_NS = 2_000_000_000

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            known = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        self._known: dict = known if isinstance(known, dict) else {}
        self._seen: dict[str, list] = {}

    def get(self, rel_path: str, info: os.stat_result) -> str | None:
        entry = self._known.get(rel_path)
        if (isinstance(entry, list) and len(entry) == 2 and entry[0] == _stamp(info)
                and isinstance(entry[1], str) and len(entry[1]) == 64):
            self._seen[rel_path] = entry
            return entry[1]
        return None

    def put(self, rel_path: str, before: os.stat_result, after: os.stat_result, sha256: str,
            hashed_from_ns: int) -> None:
        if _stamp(before) == _stamp(after) and before.st_ctime_ns < hashed_from_ns - self.QUIET_NS:
            self._seen[rel_path] = [_stamp(before), sha256]

    def save(self) -> None:
        """The hashes of the files seen by this walk (atomically: a killed load leaves the old
        file); a cache that cannot be written is not kept (the next walk hashes again)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_text(json.dumps(self._seen, sort_keys=True), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)


def _hash(fh: BinaryIO, rel_path: str, cache: HashCache | None) -> str:
    before = os.fstat(fh.fileno())
    if cache is not None and (known := cache.get(rel_path, before)) is not None:
        return known
    started = time.time_ns()
    sha256 = _digest(fh)
    if cache is not None:
        cache.put(rel_path, before, os.fstat(fh.fileno()), sha256, started)
    return sha256


def _unread(rel_path: str, reason: str, code: str) -> UnreadEntry:
    stable = hashlib.sha256(f"{rel_path}\0{reason}".encode()).hexdigest()
    return UnreadEntry(rel_path, f"unread:{stable}", reason, code)


def is_os_clutter(name: str) -> bool:
    return name in IGNORED_FILES or name.startswith(IGNORED_PREFIXES)


def _inside(target: Path, root: Path) -> bool:
    return target == root or root in target.parents


def _classify(path: Path, rel_path: str, root: Path, cache: HashCache | None = None) -> InboxFile | UnreadEntry:
    """One entry of the walk: a file to read, or the reason it is not read."""
    if (shown := printable(rel_path)) != rel_path:
        return _unread(shown, "the name holds bytes that are not UTF-8 text or control characters "
                              "(shown escaped, e.g. \\xff or \\n): not read; rename the file", rc.INBOX_NAME_NOT_TEXT)
    if any(part.startswith(".") for part in rel_path.split("/")):
        return _unread(rel_path, "hidden file or folder (name starts with '.'): not read; "
                                 "rename it if it is an export", rc.INBOX_HIDDEN)
    try:
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                return _unread(rel_path, "broken or looping link: not read", rc.INBOX_BROKEN_LINK)
            if not _inside(target, root):
                return _unread(rel_path, "link to a file outside the inbox: not read "
                                         "(copy the file into the inbox instead)", rc.INBOX_LINK_OUTSIDE)
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return _unread(rel_path, "not a regular file: not read", rc.INBOX_NOT_REGULAR)
        with open_inside(path, root) as fh:
            return InboxFile(path=path, rel_path=rel_path, sha256=_hash(fh, rel_path, cache),
                             size=os.fstat(fh.fileno()).st_size)
    except FileRefused as refused:
        return _unread(rel_path, refused.reason, refused.code or rc.INBOX_UNREADABLE)
    except OSError as exc:
        return _unread(rel_path, f"cannot be read: {exc.strerror or exc}", rc.INBOX_UNREADABLE)


def discover(inbox: Path, cache: HashCache | None = None) -> tuple[list[InboxFile], list[UnreadEntry]]:
    """Every regular file under `inbox` (sub-folders included), sorted by rel_path, with its
    sha256 computed by streaming (or taken from `cache` while the file's stamp is unchanged;
    the caller saves it); and every entry refused unread, sorted likewise.

    Raises NotADirectoryError when the inbox itself is missing: that is the operator's
    configuration, not a site's file."""
    inbox = Path(inbox).absolute()
    if not inbox.is_dir():
        raise NotADirectoryError(f"the inbox {inbox} is not a folder")
    root = inbox.resolve()
    files: list[InboxFile] = []
    unread: list[UnreadEntry] = []
    with os.scandir(inbox):   # an unreadable inbox raises here (os.walk would say nothing)
        pass

    def unreadable_folder(error: OSError) -> None:
        rel_path = printable(Path(error.filename).relative_to(inbox).as_posix()) + "/"
        unread.append(_unread(rel_path, f"the folder cannot be read ({error.strerror or error}): the files in it "
                                        "were not loaded; give the loader's user read and execute permission on "
                                        "it (an upload made with umask 077?)", rc.INBOX_FOLDER_UNREADABLE))

    for folder, dirnames, filenames in os.walk(inbox, followlinks=False, onerror=unreadable_folder):
        here = Path(folder)
        for name in list(dirnames):
            rel_path = printable((here / name).relative_to(inbox).as_posix())
            if name in IGNORED_FOLDERS:
                dirnames.remove(name)
            elif (here / name).is_symlink():
                dirnames.remove(name)
                unread.append(_unread(rel_path, "link to a folder: links to folders are not followed",
                                      rc.INBOX_FOLDER_LINK))
        for name in filenames:
            if is_os_clutter(name):
                continue
            path = here / name
            entry = _classify(path, path.relative_to(inbox).as_posix(), root, cache)
            (files if isinstance(entry, InboxFile) else unread).append(entry)
    files.sort(key=lambda f: f.rel_path)
    unread.sort(key=lambda u: u.rel_path)
    return files, unread
