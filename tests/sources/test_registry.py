from __future__ import annotations

import pytest

from sources.registry import RegistryError, SiteConfig, load_registry


def load(tmp_path, text: str):
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    return load_registry(path)


def test_omitted_settings_take_the_documented_defaults(tmp_path):
    registry = load(tmp_path, "sites:\n  BJH:\n")
    assert registry.get("BJH") == SiteConfig("BJH", "BJH", "utf-8", ",", ".", "%Y-%m-%d", {})
    assert registry.get("XYZ") is None


def test_a_full_site_with_aliases(tmp_path):
    registry = load(tmp_path, """\
sites:
  BJH:
    name: Example University Hospital
    encoding: GB18030
    delimiter: "\\t"
    decimal: ","
    date_format: "%d.%m.%Y"
    aliases:
      labs:
        sample_date: 采样日期
        value: " 结果 "
  SH01:
    encoding: UTF8
    delimiter: ";"
""")
    bjh = registry.get("BJH")
    assert (bjh.name, bjh.encoding, bjh.delimiter, bjh.decimal, bjh.date_format) == (
        "Example University Hospital", "gb18030", "\t", ",", "%d.%m.%Y")
    assert bjh.aliases == {"labs": {"sample_date": "采样日期", "value": "结果"}}
    assert registry.get("SH01").encoding == "utf-8"
    assert sorted(registry.sites) == ["BJH", "SH01"]


@pytest.mark.parametrize("text, expected", [
    ("sites: [BJH", "not valid YAML"),
    ("", "must have a 'sites:' section"),
    ("sites:\n", "must have a 'sites:' section"),
    ("site:\n  BJH:\n", "must have a 'sites:' section"),
    ("sites:\n  bjh:\n", "2 to 8 upper-case letters or digits"),
    ("sites:\n  B:\n", "2 to 8 upper-case letters or digits"),
    ("sites:\n  ABCDEFGHI:\n", "2 to 8 upper-case letters or digits"),
    ("sites:\n  B-J:\n", "2 to 8 upper-case letters or digits"),
    ("sites:\n  12:\n", "must be text (quote it"),
    ("sites:\n  BJH: 3\n", "expected the site's settings"),
    ("sites:\n  BJH:\n    encoding: latin-1\n", "encoding 'latin-1' is not supported"),
    ("sites:\n  BJH:\n    encoding: gbk\n", "gb18030 also reads GBK"),
    ("sites:\n  BJH:\n    delimiter: '|'\n", "delimiter '|' is not supported"),
    ("sites:\n  BJH:\n    decimal: ';'\n", "decimal ';' is not supported"),
    ("sites:\n  BJH:\n    date_format: '%Y-%m'\n", "must contain the day (%d) exactly once"),
    ("sites:\n  BJH:\n    date_format: '%d.%m.%y'\n", "two-digit year (%y) is ambiguous"),
    ("sites:\n  BJH:\n    date_format: '%d.%m.%Y %H:%M'\n", "%H is not accepted"),
    ("sites:\n  BJH:\n    date_format: '%d %b %Y'\n", "%b is not accepted"),
    ("sites:\n  BJH:\n    date_format: '%d%m%Y%d'\n", "day (%d) exactly once"),
    ("sites:\n  BJH:\n    date_format: 20210101\n", "date_format must be text"),
    ("sites:\n  BJH:\n    dateformat: '%d.%m.%Y'\n", "unknown setting 'dateformat'"),
    ("sites:\n  BJH:\n    name: ''\n", "name must be non-empty text"),
    ("sites:\n  BJH:\n    aliases:\n      lab:\n        value: x\n", "aliases for unknown domain 'lab'"),
    ("sites:\n  BJH:\n    aliases:\n      labs:\n        result: x\n", "'result' is not a column of labs"),
    ("sites:\n  BJH:\n    aliases:\n      labs:\n        value: unit\n", "is itself the name of the column 'unit'"),
    ("sites:\n  BJH:\n    aliases:\n      labs:\n        value: R\n        unit: ' r'\n", "already the alias of 'value'"),
    ("sites:\n  BJH:\n    aliases:\n      labs:\n        value: ''\n", "header must be non-empty text"),
    ("sites:\n  BJH:\n    aliases: [x]\n", "aliases must map a domain"),
    ("sites:\n  BJH:\n  BJH:\n", "duplicate key 'BJH'"),
    ("sites:\n  BJH:\nextra: 1\n", "unknown top-level key"),
    ("study_id: 'IGU ITP 01'\nsites:\n  BJH:\n", "is not a study identifier"),
    ("study_id: 'IGU-试验'\nsites:\n  BJH:\n", "is not a study identifier"),
    ("study_id: 2021\nsites:\n  BJH:\n", "is not a study identifier"),
])
def test_every_bad_registry_is_refused_with_a_clear_message(tmp_path, text, expected):
    with pytest.raises(RegistryError) as refused:
        load(tmp_path, text)
    assert expected in str(refused.value)


def test_the_registry_may_name_the_study(tmp_path):
    assert load(tmp_path, "study_id: IGU-ITP-01\nsites:\n  BJH:\n").study_id == "IGU-ITP-01"
    assert load(tmp_path, "sites:\n  BJH:\n").study_id is None


def test_a_missing_registry_file_is_named(tmp_path):
    with pytest.raises(RegistryError, match="sites.yaml does not exist"):
        load_registry(tmp_path / "sites.yaml")


def test_all_problems_are_reported_at_once(tmp_path):
    with pytest.raises(RegistryError) as refused:
        load(tmp_path, "sites:\n  BJH:\n    encoding: latin-1\n    decimal: ';'\n  SH:\n    delimiter: '|'\n")
    message = str(refused.value)
    assert "site 'BJH': encoding" in message and "site 'BJH': decimal" in message
    assert "site 'SH': delimiter" in message


def test_unit_aliases_name_an_accepted_unit(tmp_path):
    """site-exports.md §4 (v1.1): the site's spelling -> an accepted unit (or a built-in
    spelling of one); held normalized, so case and spaces of the site's spelling never matter."""
    registry = load(tmp_path, """\
sites:
  BJH:
    unit_aliases:
      "10^9个/L": 10^9/L
      "umol/l (酶法)": umol/L
      "千/微升": THOU/uL
""")
    assert registry.get("BJH").unit_aliases == {"10^9个/l": "10^9/L", "umol/l(酶法)": "umol/L", "千/微升": "10^3/uL"}


@pytest.mark.parametrize("entry, expected", [
    ('"10^9个/L": furlongs', "site 'BJH': unit_aliases '10^9个/L': 'furlongs' is not an accepted unit of any test"),
    ('"T/L": TI/L', "site 'BJH': unit_aliases 'T/L': 'TI/L' (= 10^12/L) is not an accepted unit of any test"),
    ('"G/L": 1000', "site 'BJH': unit_aliases 'G/L': the target must be an accepted unit, not 1000"),
    ('"mg/dL": umol/L', "site 'BJH': unit_aliases 'mg/dL': 'mg/dL' already means mg/dL"),
    ('"GI/L": 10^3/uL', "site 'BJH': unit_aliases 'GI/L': 'GI/L' already means 10^9/L"),
    ('"x": ""', "site 'BJH': unit_aliases 'x': the target must be an accepted unit"),
    ('"10^9个/L": 10^9/L\n      "10^9个/l": 10^3/uL', "the same spelling (ignoring case and spaces) is already an alias of 10^9/L"),
])
def test_a_bad_unit_alias_is_a_registry_error_naming_site_key_and_value(tmp_path, entry, expected):
    with pytest.raises(RegistryError) as refused:
        load(tmp_path, f"sites:\n  BJH:\n    unit_aliases:\n      {entry}\n")
    assert expected in str(refused.value)


def test_unit_aliases_must_be_a_mapping(tmp_path):
    with pytest.raises(RegistryError, match="site 'BJH': unit_aliases must map the site's unit spelling"):
        load(tmp_path, "sites:\n  BJH:\n    unit_aliases: [x]\n")
