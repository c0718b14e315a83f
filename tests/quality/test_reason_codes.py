"""Reason codes (#14): docs/reasons.md is the one table of every code, and the code base raises
exactly the codes it lists; every whole-file refusal names its code; a load stores the code
beside the sentence in quality.file_manifest.reason_code."""
from __future__ import annotations

import ast
import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest.intake import ingest_inbox, prepare_warehouse
from sources import reason_codes
from sources.registry import load_registry

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "docs" / "reasons.md"
PACKAGES = ("sources", "quality", "ingest", "monitoring")
# A code is `<prefix>.<name>` with one of these prefixes, or one of the two bare row codes.
CODE = re.compile(r"^(?:(?:name|inbox|file|snapshot|hold|parse|pandera|gx|subject_id|site_id|identifier|test_code"
                  r"|unit)\.[a-z0-9_]+|required|controlled_term)$")


def documented_codes() -> set[str]:
    """The first cell's `code`s of every table row of docs/reasons.md."""
    codes = set()
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            codes.update(re.findall(r"`([^`]+)`", first))
    return codes


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def raised_codes() -> dict[str, set[str]]:
    """Every string literal of the product packages that has the form of a code -> its files."""
    found: dict[str, set[str]] = {}
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
                found.setdefault(node.value, set()).add(path.relative_to(REPO).as_posix())
    return found


def test_every_code_in_the_code_base_is_in_the_table_and_every_listed_code_is_raised():
    documented, raised = documented_codes(), raised_codes()
    assert len(documented) > 60                      # the table was parsed
    missing = {code: sorted(files) for code, files in raised.items() if code not in documented}
    assert not missing, f"raised but not in docs/reasons.md: {missing}"
    assert not documented - set(raised), f"in docs/reasons.md but raised nowhere: {sorted(documented - set(raised))}"


def test_the_file_codes_are_all_used_once_defined():
    defined = {v for k, v in vars(reason_codes).items() if k.isupper() and isinstance(v, str)}
    used = set()
    for path in modules():
        if path.name == "reason_codes.py":
            continue
        text = path.read_text(encoding="utf-8")
        used |= {getattr(reason_codes, name) for name in re.findall(r"\brc\.([A-Z_0-9]+)\b", text)}
    assert defined == used, f"defined in sources/reason_codes.py, never raised: {sorted(defined - used)}"
    assert len(defined) == len({k for k in vars(reason_codes) if k.isupper()})   # no code twice


def _refusals_without_code() -> list[str]:
    out = []
    for path in modules():
        rel = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "FileRefused"
                    and not any(k.arg == "code" for k in node.keywords)):
                out.append(f"{rel}:{node.lineno}")
    return out


def test_every_whole_file_refusal_names_its_code():
    assert _refusals_without_code() == []


REGISTRY = """sites:
  BJH:
    name: Test hospital
    encoding: gb18030
    delimiter: ","
    decimal: "."
    date_format: "%Y-%m-%d"
"""
SUBJECTS = "site_id,subject_id,sex,birth_year,diagnosis_date,enrollment_date\nBJH,B-001,M,1970,2020-01-02,2020-02-03\n"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict[str, tuple[str, str, str]]:
    home = tmp_path_factory.mktemp("codes")
    inbox = home / "inbox"
    inbox.mkdir()
    (home / "sites.yaml").write_text(REGISTRY, encoding="utf-8")
    (inbox / "BJH_subjects_20220101.csv").write_bytes(SUBJECTS.encode("gb18030"))
    (inbox / "copy").mkdir()
    (inbox / "copy" / "BJH_subjects_20220101.csv").write_bytes(SUBJECTS.encode("gb18030"))
    (inbox / "BJH_labs_20220101.csv").write_bytes("site_id,subject_id,备注\nBJH,B-001,华法林片\n".encode())
    (inbox / "BJH_labs_20220102.csv").write_bytes(b"")
    (inbox / "BJH_dosing_20220101.txt").write_bytes(b"x")
    (inbox / "XYZ_dosing_20220101.csv").write_bytes(b"y")
    (inbox / ".hidden.csv").write_bytes(b"z")
    (inbox / "BJH_dosing_20220101.csv").write_bytes(b"site_id;subject_id;start_date;dose_mg\nBJH;B-001;2022-01-01;25\n")
    with duckdb.connect(str(home / "w.duckdb")) as conn:
        prepare_warehouse(conn)
        ingest_inbox(conn, inbox, load_registry(home / "sites.yaml"), "load-1", datetime(2022, 2, 1), workers=0)
        rows = conn.execute("SELECT file_path, status, reason_code, reason FROM quality.file_manifest").fetchall()
    return {path: (status, code, reason) for path, status, code, reason in rows}


@pytest.mark.parametrize("path, status, code, wording", [
    ("BJH_labs_20220101.csv", "refused", "file.encoding_mismatch", "the file is UTF-8 text, but the site's declared"),
    ("BJH_labs_20220102.csv", "refused", "file.empty", "the file is empty (0 bytes)"),
    ("BJH_dosing_20220101.txt", "refused", "name.extension", "the extension .txt is not accepted"),
    ("XYZ_dosing_20220101.csv", "refused", "name.unknown_site", "site XYZ is not in the site registry"),
    (".hidden.csv", "refused", "inbox.hidden", "hidden file or folder"),
    ("BJH_dosing_20220101.csv", "refused", "file.delimiter_mismatch", "the header row names"),
    ("copy/BJH_subjects_20220101.csv", "duplicate", "snapshot.duplicate", "same content as"),
    ("BJH_subjects_20220101.csv", "loaded", None, None),
])
def test_the_manifest_stores_the_code_beside_the_sentence(manifest, path, status, code, wording):
    got_status, got_code, reason = manifest[path]
    assert (got_status, got_code) == (status, code)
    assert (reason is None) if wording is None else wording in reason
