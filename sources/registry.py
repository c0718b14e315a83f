"""The site registry (site-exports.md §4): which sites exist and how each writes its files.

A wrong registry would make every file of a site unreadable, or worse, readable the wrong way
(a decimal comma taken for a thousands separator). So it is validated completely at load and
every problem is reported at once, by site and key.

Defaults when a key is omitted: encoding utf-8, delimiter ",", decimal ".", date_format
"%Y-%m-%d", name = the site code, no aliases, no unit aliases, no subject_id_pattern (any
printable ASCII id without spaces).

Besides `sites:`, the registry may name the study (`study_id: IGU-ITP-01`): the STUDYID of the
ADaM datasets (../shared/spec/adam.md §1), unless the load is given another.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sources.domains import DOMAINS
from sources.parsing import date_format_problems
from sources.study_parameters import normalize_unit
from sources.units import unit_alias_problem, unit_named

SITE_CODE = re.compile(r"[A-Z0-9]{2,8}")
ENCODINGS = ("utf-8", "gb18030")
DELIMITERS = (",", ";", "\t")
DECIMALS = (".", ",")
SITE_KEYS = ("name", "encoding", "delimiter", "decimal", "date_format", "aliases", "unit_aliases",
             "subject_id_pattern")
TOP_LEVEL_KEYS = ("sites", "study_id")
# STUDYID travels into SAS Transport v5 files (ASCII) and into every USUBJID.
STUDY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class RegistryError(ValueError):
    """The registry cannot be used; the message lists every problem found."""


@dataclass(frozen=True)
class SiteConfig:
    code: str
    name: str
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    date_format: str = "%Y-%m-%d"
    # domain -> canonical column -> the site's own header for it
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    # (v1.1) the site's own unit spellings, normalized (sources.units.normalize_unit) -> the
    # accepted unit it means, spelled as in the seed lab_units: a name, never a factor
    unit_aliases: dict[str, str] = field(default_factory=dict)
    # v1.2: a regular expression every subject_id of the site matches whole (e.g. BJH-[0-9]{3})
    subject_id_pattern: str | None = None


@dataclass(frozen=True)
class SiteRegistry:
    sites: dict[str, SiteConfig]
    study_id: str | None = None

    def get(self, code: str) -> SiteConfig | None:
        return self.sites.get(code)


def header_key(header: str) -> str:
    """How headers are compared: ignoring case and surrounding spaces (and a UTF-8 BOM)."""
    return header.replace("\ufeff", "").strip().casefold()


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML silently keeps the last of two equal keys; a registry listing a site twice is an
    error, not a choice to make for the user."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _choice(value: object, allowed: tuple[str, ...], what: str, problems: list[str], where: str) -> str | None:
    if value in allowed:
        return value
    shown = ", ".join(repr(a) for a in allowed)
    problems.append(f"{where}: {what} {value!r} is not supported (expected one of {shown})")
    return None


def _encoding(value: object, problems: list[str], where: str) -> str | None:
    """Spelling-tolerant ('UTF8' is utf-8), but only the two encodings of the spec."""
    if isinstance(value, str):
        try:
            name = codecs.lookup(value).name
        except LookupError:
            name = value
        if name in ENCODINGS:
            return name
    problems.append(f"{where}: encoding {value!r} is not supported (expected 'utf-8' or 'gb18030'; "
                    "utf-8 also reads files with a BOM, gb18030 also reads GBK and GB2312)")
    return None


def _subject_id_pattern(value: object, problems: list[str], where: str) -> str | None:
    """A regular expression (Python `re` syntax) a subject id must match whole."""
    if value is None:
        return None
    at = f"{where}: subject_id_pattern {value!r}"
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{at}: must be a regular expression in quotes, such as \"BJH-[0-9]{{3}}\"")
        return None
    try:
        re.compile(value)
    except re.error as exc:
        problems.append(f"{at}: is not a valid regular expression ({exc})")
        return None
    return value


def _aliases(value: object, problems: list[str], where: str) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: aliases must map a domain to its columns' headers")
        return {}
    out: dict[str, dict[str, str]] = {}
    for domain, columns in value.items():
        if domain not in DOMAINS:
            problems.append(f"{where}: aliases for unknown domain {domain!r} "
                            f"(expected one of {', '.join(DOMAINS)})")
            continue
        if not isinstance(columns, dict):
            problems.append(f"{where}: aliases.{domain} must map a column to the site's header")
            continue
        spec = DOMAINS[domain].spec_columns
        others = {header_key(c): c for c in spec}
        seen: dict[str, str] = {}
        out[domain] = {}
        for column, header in columns.items():
            at = f"{where}: aliases.{domain}.{column}"
            if column not in spec:
                problems.append(f"{at}: {column!r} is not a column of {domain} (columns: {', '.join(spec)})")
                continue
            if not isinstance(header, str) or not header.strip():
                problems.append(f"{at}: the header must be non-empty text, not {header!r}")
                continue
            key = header_key(header)
            if key in others and others[key] != column:
                problems.append(f"{at}: {header!r} is itself the name of the column {others[key]!r}")
                continue
            if key in seen:
                problems.append(f"{at}: {header!r} is already the alias of {seen[key]!r}")
                continue
            seen[key] = column
            out[domain][column] = header.strip()
    return out


def _unit_aliases(value: object, problems: list[str], where: str) -> dict[str, str]:
    """site-exports.md §4 (v1.1): the site's spelling -> an accepted unit. A target that is
    not an accepted unit, or a spelling that already means another unit, is an error: a wrong
    alias would convert every value of the site by the wrong factor."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: unit_aliases must map the site's unit spelling to an accepted unit")
        return {}
    out: dict[str, str] = {}
    for spelling, target in value.items():
        at = f"{where}: unit_aliases {spelling!r}"
        if not isinstance(spelling, str) or not spelling.strip():
            problems.append(f"{at}: the site's spelling must be non-empty text")
            continue
        problem = unit_alias_problem(spelling, target)
        if problem is not None:
            problems.append(f"{at}: {problem}")
            continue
        key, unit = normalize_unit(spelling), unit_named(target)[0]
        if key in out and out[key] != unit:
            problems.append(f"{at}: the same spelling (ignoring case and spaces) is already an alias of {out[key]}")
            continue
        out[key] = unit
    return out


def _site(code: object, body: object, problems: list[str]) -> SiteConfig | None:
    where = f"site {code!r}"
    if not isinstance(code, str):
        problems.append(f"{where}: a site code must be text (quote it, e.g. \"{code}\")")
        return None
    if not SITE_CODE.fullmatch(code):
        problems.append(f"{where}: a site code is 2 to 8 upper-case letters or digits (A-Z, 0-9)")
        return None
    body = {} if body is None else body
    if not isinstance(body, dict):
        problems.append(f"{where}: expected the site's settings ({', '.join(SITE_KEYS)})")
        return None
    before = len(problems)
    for key in body:
        if key not in SITE_KEYS:
            problems.append(f"{where}: unknown setting {key!r} (expected: {', '.join(SITE_KEYS)})")
    name = body.get("name", code)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: name must be non-empty text")
    encoding = _encoding(body.get("encoding", "utf-8"), problems, where)
    delimiter = _choice(body.get("delimiter", ","), DELIMITERS, "delimiter", problems, where)
    decimal = _choice(body.get("decimal", "."), DECIMALS, "decimal", problems, where)
    date_format = body.get("date_format", "%Y-%m-%d")
    if not isinstance(date_format, str):
        problems.append(f"{where}: date_format must be text such as \"%d.%m.%Y\"")
    else:
        problems.extend(f"{where}: date_format {date_format!r}: {p}" for p in date_format_problems(date_format))
    aliases = _aliases(body.get("aliases"), problems, where)
    unit_aliases = _unit_aliases(body.get("unit_aliases"), problems, where)
    subject_id_pattern = _subject_id_pattern(body.get("subject_id_pattern"), problems, where)
    if len(problems) > before:
        return None
    return SiteConfig(code, name.strip(), encoding, delimiter, decimal, date_format, aliases,
                      unit_aliases=unit_aliases, subject_id_pattern=subject_id_pattern)


def load_registry(path: Path | str) -> SiteRegistry:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(f"the file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"the file {path} cannot be read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sites"), dict) or not data["sites"]:
        raise RegistryError(f"{path} must have a 'sites:' section listing at least one site")
    problems: list[str] = []
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        problems.append(f"unknown top-level key(s) {', '.join(map(repr, unknown))} "
                        f"(expected {' and '.join(map(repr, TOP_LEVEL_KEYS))})")
    study_id = data.get("study_id")
    if study_id is not None:
        problem = study_id_problem(study_id)
        if problem:
            problems.append(f"study_id: {problem}")
    sites = {}
    for code, body in data["sites"].items():
        site = _site(code, body, problems)
        if site is not None:
            sites[site.code] = site
    if problems:
        raise RegistryError("; ".join(problems))
    return SiteRegistry(sites, study_id)


def study_id_problem(value: object) -> str | None:
    """Why a STUDYID cannot be used, or None. Checked wherever it is given (registry, CLI,
    environment), so a bad one stops the load before anything is built with it."""
    if not isinstance(value, str) or not STUDY_ID.fullmatch(value):
        return (f"{value!r} is not a study identifier (1 to 40 ASCII letters, digits, '.', '_' "
                "or '-', starting with a letter or digit)")
    return None
