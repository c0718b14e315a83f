"""What a file name says: <SITE>_<DOMAIN>_<YYYYMMDD>.<ext> (site-exports.md §1).

Names are case-insensitive: the site is upper-cased, the domain and extension lower-cased.
The site code has no underscore and the date none either, so the domain is everything between
the first and the last underscore (this is how `adverse_events` keeps its own underscore).
Each refusal says which part of the name is wrong, so a site can rename and resend.
"""
from __future__ import annotations

import re
from datetime import date

from sources import reason_codes as rc
from sources.domains import DOMAINS
from sources.model import ExportName, FileRefused
from sources.registry import SITE_CODE, SiteRegistry

EXTENSIONS = ("csv", "xlsx")
EXPECTED = "<SITE>_<DOMAIN>_<YYYYMMDD>.csv or .xlsx, e.g. BJH_labs_20210401.csv"
_DATE = re.compile(r"\d{8}")


def parse_file_name(name: str, registry: SiteRegistry) -> ExportName:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        raise FileRefused(f"file name {name!r} has no extension: expected {EXPECTED}",
                          code=rc.NAME_NO_EXTENSION)
    ext = ext.lower()
    if ext not in EXTENSIONS:
        raise FileRefused(f"file name {name!r}: the extension .{ext} is not accepted "
                          f"(only .csv or .xlsx): expected {EXPECTED}", code=rc.NAME_EXTENSION)
    site, first, rest = stem.partition("_")
    domain, last, stamp = rest.rpartition("_")
    if not first or not last or not domain:
        raise FileRefused(f"file name {name!r} does not follow {EXPECTED}", code=rc.NAME_PATTERN)
    site, domain = site.upper(), domain.lower()
    if not SITE_CODE.fullmatch(site):
        raise FileRefused(f"file name {name!r}: the site code {site!r} is not 2 to 8 letters or digits",
                          code=rc.NAME_SITE_CODE)
    if registry.get(site) is None:
        raise FileRefused(f"file name {name!r}: site {site} is not in the site registry "
                          f"(registered: {', '.join(sorted(registry.sites))})", code=rc.NAME_UNKNOWN_SITE)
    if domain not in DOMAINS:
        raise FileRefused(f"file name {name!r}: {domain!r} is not a domain "
                          f"(expected one of {', '.join(DOMAINS)})", code=rc.NAME_UNKNOWN_DOMAIN)
    if not _DATE.fullmatch(stamp):
        raise FileRefused(f"file name {name!r}: the export date {stamp!r} is not 8 digits YYYYMMDD",
                          code=rc.NAME_DATE_FORMAT)
    try:
        export_date = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    except ValueError:
        raise FileRefused(f"file name {name!r}: the export date {stamp} (YYYYMMDD) is not a "
                          "calendar date", code=rc.NAME_DATE_INVALID) from None
    return ExportName(site=site, domain=domain, export_date=export_date, ext=ext)


def snapshot_of(name: str) -> tuple[str, str] | None:
    """(SITE, domain) of a well-formed export name, without the registry; None for anything
    else. For whoever must tell snapshots apart before a load reads the registry (the inbox
    sensor): identity is (site, domain, content), site-exports.md §1. A well-formed name of an
    unregistered site is still refused by the load."""
    stem, dot, ext = name.rpartition(".")
    site, first, rest = stem.partition("_")
    domain, last, stamp = rest.rpartition("_")
    site, domain = site.upper(), domain.lower()
    if (not dot or ext.lower() not in EXTENSIONS or not first or not last or domain not in DOMAINS
            or not SITE_CODE.fullmatch(site) or not _DATE.fullmatch(stamp)):
        return None
    return site, domain
