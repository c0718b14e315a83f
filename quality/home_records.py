"""Records a person's command leaves under HOME for the next load to apply (a release of a
held file, a site's answers workbook): each one a file written whole or not at all, read back
in the order they were made. The published warehouse is read-only, so these wait as files."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Record = TypeVar("Record")


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file beside it and one rename: a reader (or a
    load killed meanwhile) sees the old file or the new one, never part of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def read_all(folder: Path, parse: Callable[[str], Record], order: Callable[[Record], Any]) -> list[Record]:
    """Every `*.json` record of `folder`, parsed, sorted by `order`; none when there is no folder."""
    if not folder.is_dir():
        return []
    return sorted((parse(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")), key=order)
