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
Refused entries carry a stable pseudo-hash "unread:<hex>" (derived from path and reason), so a
second load of the same inbox recognises them and records nothing new.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import NamedTuple

from sources.model import InboxFile

IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
IGNORED_PREFIXES = ("._",)
IGNORED_FOLDERS = frozenset({"__MACOSX", ".Trashes", ".Spotlight-V100", ".fseventsd", ".TemporaryItems"})

_BLOCK = 1 << 20


class UnreadEntry(NamedTuple):
    """An inbox entry that is refused without being read (unpacks as rel_path, sha256, reason)."""
    rel_path: str
    sha256: str
    reason: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _unread(rel_path: str, reason: str) -> UnreadEntry:
    stable = hashlib.sha256(f"{rel_path}\0{reason}".encode()).hexdigest()
    return UnreadEntry(rel_path, f"unread:{stable}", reason)


def _ignored(name: str) -> bool:
    return name in IGNORED_FILES or name.startswith(IGNORED_PREFIXES)


def _inside(target: Path, root: Path) -> bool:
    return target == root or root in target.parents


def _classify(path: Path, rel_path: str, root: Path) -> InboxFile | UnreadEntry:
    """One entry of the walk: a file to read, or the reason it is not read."""
    if any(part.startswith(".") for part in rel_path.split("/")):
        return _unread(rel_path, "hidden file or folder (name starts with '.'): not read; "
                                 "rename it if it is an export")
    try:
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                return _unread(rel_path, "broken or looping link: not read")
            if not _inside(target, root):
                return _unread(rel_path, "link to a file outside the inbox: not read "
                                         "(copy the file into the inbox instead)")
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return _unread(rel_path, "not a regular file: not read")
        return InboxFile(path=path, rel_path=rel_path, sha256=file_sha256(path), size=info.st_size)
    except OSError as exc:
        return _unread(rel_path, f"cannot be read: {exc.strerror or exc}")


def discover(inbox: Path) -> tuple[list[InboxFile], list[UnreadEntry]]:
    """Every regular file under `inbox` (sub-folders included), sorted by rel_path, with its
    sha256 computed by streaming; and every entry refused unread, sorted likewise.

    Raises NotADirectoryError when the inbox itself is missing: that is the operator's
    configuration, not a site's file."""
    inbox = Path(inbox).absolute()
    if not inbox.is_dir():
        raise NotADirectoryError(f"the inbox {inbox} is not a folder")
    root = inbox.resolve()
    files: list[InboxFile] = []
    unread: list[UnreadEntry] = []
    for folder, dirnames, filenames in os.walk(inbox, followlinks=False):
        here = Path(folder)
        for name in list(dirnames):
            rel_path = (here / name).relative_to(inbox).as_posix()
            if name in IGNORED_FOLDERS:
                dirnames.remove(name)
            elif (here / name).is_symlink():
                dirnames.remove(name)
                unread.append(_unread(rel_path, "link to a folder: links to folders are not followed"))
        for name in filenames:
            if _ignored(name):
                continue
            path = here / name
            entry = _classify(path, path.relative_to(inbox).as_posix(), root)
            (files if isinstance(entry, InboxFile) else unread).append(entry)
    files.sort(key=lambda f: f.rel_path)
    unread.sort(key=lambda u: u.rel_path)
    return files, unread
