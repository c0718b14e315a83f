from __future__ import annotations

import hashlib
import os

import pytest

from sources.inbox import discover


def put(path, content: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_sub_folders_are_discovered_sorted_and_hashed(inbox):
    put(inbox / "b" / "BJH_labs_20210401.csv", b"second")
    put(inbox / "a" / "deeper" / "SH_labs_20210401.csv", b"first")
    put(inbox / "BJH_subjects_20210401.csv", b"")
    files, unread = discover(inbox)
    assert [f.rel_path for f in files] == [
        "BJH_subjects_20210401.csv", "a/deeper/SH_labs_20210401.csv", "b/BJH_labs_20210401.csv"]
    assert unread == []
    deeper = files[1]
    assert deeper.sha256 == hashlib.sha256(b"first").hexdigest()
    assert deeper.size == 5
    assert deeper.path == inbox / "a" / "deeper" / "SH_labs_20210401.csv"
    assert files[0].size == 0


def test_a_link_leading_outside_the_inbox_is_refused_unread(tmp_path, inbox):
    secret = tmp_path / "outside" / "BJH_labs_20210401.csv"
    put(secret, b"not the inbox's business")
    os.symlink(secret, inbox / "BJH_labs_20210401.csv")
    os.symlink(secret.parent, inbox / "linked_folder")
    files, unread = discover(inbox)
    assert files == []
    by_path = {u.rel_path: u for u in unread}
    assert "outside the inbox" in by_path["BJH_labs_20210401.csv"].reason
    assert "links to folders are not followed" in by_path["linked_folder"].reason
    # never hashed, hence never opened: the pseudo-hash is not the file's
    assert all(u.sha256.startswith("unread:") for u in unread)
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in {u.sha256 for u in unread}


def test_a_link_to_a_file_inside_the_inbox_is_read_under_its_own_name(inbox):
    put(inbox / "archive" / "real.csv", b"content")
    os.symlink(inbox / "archive" / "real.csv", inbox / "BJH_labs_20210401.csv")
    files, unread = discover(inbox)
    assert [f.rel_path for f in files] == ["BJH_labs_20210401.csv", "archive/real.csv"]
    assert files[0].name == "BJH_labs_20210401.csv"
    assert files[0].sha256 == files[1].sha256
    assert unread == []


def test_a_broken_link_is_refused(inbox):
    os.symlink(inbox / "gone.csv", inbox / "BJH_labs_20210401.csv")
    files, unread = discover(inbox)
    assert files == []
    assert [(u.rel_path, u.reason) for u in unread] == [("BJH_labs_20210401.csv", "broken or looping link: not read")]


def test_system_clutter_is_skipped_and_other_hidden_files_are_refused(inbox):
    put(inbox / ".DS_Store")
    put(inbox / "sub" / "Thumbs.db")
    put(inbox / "._BJH_labs_20210401.csv")
    put(inbox / "__MACOSX" / "BJH_labs_20210401.csv")
    put(inbox / ".BJH_labs_20210401.csv.partial")
    put(inbox / ".upload" / "BJH_labs_20210401.csv")
    files, unread = discover(inbox)
    assert files == []
    assert [u.rel_path for u in unread] == [".BJH_labs_20210401.csv.partial", ".upload/BJH_labs_20210401.csv"]
    assert all("hidden" in u.reason for u in unread)


def test_refused_entries_are_stable_between_two_discoveries(inbox, tmp_path):
    put(tmp_path / "elsewhere.csv")
    os.symlink(tmp_path / "elsewhere.csv", inbox / "BJH_labs_20210401.csv")
    put(inbox / ".hidden.csv")
    assert discover(inbox)[1] == discover(inbox)[1]
    rel_path, sha256, reason, code = discover(inbox)[1][0]
    assert (rel_path, sha256[:7], code) == (".hidden.csv", "unread:", "inbox.hidden")


def test_a_missing_inbox_is_an_operator_error(tmp_path):
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        discover(tmp_path / "nowhere")
