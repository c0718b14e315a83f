from __future__ import annotations

import hashlib
import json
import os

import pytest

from sources.inbox import HashCache, discover


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


# --- HashCache: a file's hash kept by its stat stamp -----------------------------------------

@pytest.fixture
def quiet(monkeypatch):
    """Files written by the test are seconds old at most: no quiet period, so they are cached."""
    monkeypatch.setattr(HashCache, "QUIET_NS", 0)


def _walk(inbox, cache_file):
    """One load's walk: the cache read, the inbox walked, the cache saved."""
    cache = HashCache(cache_file)
    files, _ = discover(inbox, cache)
    cache.save()
    return files


def test_a_cached_hash_is_used_while_the_stamp_is_unchanged(inbox, tmp_path, quiet):
    put(inbox / "BJH_labs_20210401.csv", b"first")
    cache_file = tmp_path / "hashes.json"
    [first] = _walk(inbox, cache_file)
    # What the cache says is what a walk reports: a forged entry with the file's stamp is taken
    # as is, which shows the file was not read again.
    known = json.loads(cache_file.read_text())
    known["BJH_labs_20210401.csv"][1] = "f" * 64
    cache_file.write_text(json.dumps(known))
    [again] = _walk(inbox, cache_file)
    assert first.sha256 == hashlib.sha256(b"first").hexdigest()
    assert again.sha256 == "f" * 64


def test_a_rewritten_file_is_hashed_again_even_with_size_and_mtime_restored(inbox, tmp_path, quiet):
    path = inbox / "BJH_labs_20210401.csv"
    put(path, b"first")
    cache_file = tmp_path / "hashes.json"
    _walk(inbox, cache_file)
    before = os.stat(path)
    put(path, b"other")                                  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))   # same mtime: only ctime moved
    assert os.stat(path).st_ctime_ns != before.st_ctime_ns
    [file] = _walk(inbox, cache_file)
    assert file.sha256 == hashlib.sha256(b"other").hexdigest()


def test_a_file_replaced_by_another_with_its_name_is_hashed_again(inbox, tmp_path, quiet):
    path = inbox / "BJH_labs_20210401.csv"
    put(path, b"first")
    cache_file = tmp_path / "hashes.json"
    _walk(inbox, cache_file)
    put(tmp_path / "upload.csv", b"newer")
    os.replace(tmp_path / "upload.csv", path)            # another inode under the same name
    [file] = _walk(inbox, cache_file)
    assert file.sha256 == hashlib.sha256(b"newer").hexdigest()


def test_a_file_changed_just_before_hashing_is_not_remembered(inbox, tmp_path):
    put(inbox / "BJH_labs_20210401.csv", b"first")      # written now: within the quiet period
    cache_file = tmp_path / "hashes.json"
    [file] = _walk(inbox, cache_file)
    assert file.sha256 == hashlib.sha256(b"first").hexdigest()
    assert json.loads(cache_file.read_text()) == {}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"BJH_labs_20210401.csv": [[1], "x"]}'])
def test_a_damaged_cache_means_hashing_again(inbox, tmp_path, content, quiet):
    put(inbox / "BJH_labs_20210401.csv", b"first")
    cache_file = tmp_path / "hashes.json"
    cache_file.write_text(content)
    [file] = _walk(inbox, cache_file)
    assert file.sha256 == hashlib.sha256(b"first").hexdigest()


def test_the_cache_keeps_only_the_files_of_the_last_walk(inbox, tmp_path, quiet):
    put(inbox / "BJH_labs_20210401.csv", b"first")
    put(inbox / "BJH_labs_20210501.csv", b"second")
    cache_file = tmp_path / "hashes.json"
    _walk(inbox, cache_file)
    (inbox / "BJH_labs_20210401.csv").unlink()
    _walk(inbox, cache_file)
    assert sorted(json.loads(cache_file.read_text())) == ["BJH_labs_20210501.csv"]
