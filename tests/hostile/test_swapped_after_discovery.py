"""An entry swapped between discovery and reading (an upload tool, or a hostile site with write
access to the inbox): the reader repeats discovery's checks on what it actually opens, so a
link to a file outside the inbox is still never read, and a FIFO never hangs the load."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from sources.inbox import discover
from sources.model import FileRefused, InboxFile
from sources.naming import parse_file_name
from sources.readers import open_export
from sources.registry import SiteRegistry, load_registry
from tests.hostile.corpus import OUTSIDE_MARKER, REGISTRY_YAML, good, outside_export


@pytest.fixture
def registry(tmp_path: Path) -> SiteRegistry:
    (tmp_path / "sites.yaml").write_text(REGISTRY_YAML)
    return load_registry(tmp_path / "sites.yaml")


def discovered(tmp_path: Path, name: str) -> tuple[Path, InboxFile]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / name).write_bytes(good(1))
    [file], _ = discover(inbox)
    return inbox, file


def read_rows(file: InboxFile, registry: SiteRegistry) -> list[str]:
    name = parse_file_name(file.name, registry)
    return [s for chunk in open_export(file, name, registry.get(name.site)) for s in chunk.rows["subject_id"]]


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_a_file_swapped_for_a_link_outside_is_refused_unread(tmp_path, registry, ext):
    inbox, file = discovered(tmp_path, f"BJH_bleeding_20210401.{ext}")
    outside = tmp_path / "outside.csv"
    outside.write_bytes(outside_export())
    (inbox / file.name).unlink()
    os.symlink(outside, inbox / file.name)
    with pytest.raises(FileRefused, match="replaced by a link to a file outside the inbox"):
        read_rows(file, registry)


def test_a_file_swapped_for_a_fifo_is_refused_without_hanging(tmp_path, registry):
    inbox, file = discovered(tmp_path, "BJH_bleeding_20210401.csv")
    (inbox / file.name).unlink()
    os.mkfifo(inbox / file.name)
    with pytest.raises(FileRefused, match="not a regular file"):
        read_rows(file, registry)


def test_a_file_swapped_for_a_link_inside_the_inbox_is_read(tmp_path, registry):
    """The control: links inside the inbox are allowed at discovery, so also at reading."""
    inbox, file = discovered(tmp_path, "BJH_bleeding_20210401.csv")
    (inbox / "archive").mkdir()
    os.replace(inbox / file.name, inbox / "archive" / "real.csv")
    os.symlink(inbox / "archive" / "real.csv", inbox / file.name)
    rows = read_rows(file, registry)
    assert rows == ["BJH-001", "BJH-002", "BJH-003"]
    assert OUTSIDE_MARKER not in rows
