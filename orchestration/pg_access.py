"""Who may read what in the PostgreSQL publication, and the SQL that says so.

Declared in one place: the site registry names the sites (one role each); this module names
the two other roles and what each kind of role reads. Applied to every publication's fresh
schemas before they go live, so a change of the registry takes effect with the next load.

- `itp_site_<code>` (one per site): every table that has a `site_id` (ADaM: `SITEID`) column,
  its own rows only (row-level security); nothing else (a table without one mixes sites).
- `itp_analyst`: every table, every row.
- `itp_monitor`: the `quality` schema and `marts.safety_signal`, every row.
- Nobody but the loader (the role of ITP_POSTGRES_URL, which owns every published table) may
  write: the roles get SELECT and nothing else.

The roles are NOLOGIN group roles: no password exists, so none can leak. A deployment grants
them to its people's login roles (`GRANT itp_site_s001 TO alice`), whose passwords stay with
the hospital's PostgreSQL administrators (docs/operations.md).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

from psycopg import sql

# The column that says whose patient a row is: site_id in marts and quality, SITEID in the
# ADaM datasets (published lower-case, as every name: orchestration/pg_publishing.py).
SITE_COLUMNS = ("site_id", "siteid")
ANALYST_ROLE = "itp_analyst"
MONITOR_ROLE = "itp_monitor"
SITE_ROLE_PREFIX = "itp_site_"
MONITOR_SCHEMAS = frozenset({"quality"})
MONITOR_TABLES = frozenset({("marts", "safety_signal")})
ACCESS_VERSION = 1  # bump when the rules below change: the next publication re-applies them


@dataclass(frozen=True)
class PublishedTable:
    schema: str                        # the live name (marts, quality, adam)
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type)

    @property
    def site_column(self) -> str | None:
        return next((c for c, _ in self.columns if c in SITE_COLUMNS), None)

    @property
    def has_site(self) -> bool:
        return self.site_column is not None


@dataclass(frozen=True)
class AccessPlan:
    sites: tuple[str, ...]

    @classmethod
    def for_sites(cls, sites: Iterable[str]) -> "AccessPlan":
        return cls(tuple(sorted(set(sites))))

    @staticmethod
    def site_role(site: str) -> str:
        return SITE_ROLE_PREFIX + site.lower()

    @property
    def roles(self) -> list[str]:
        return [ANALYST_ROLE, MONITOR_ROLE, *(self.site_role(s) for s in self.sites)]

    def fingerprint(self) -> str:
        """Changes whenever the grants would: a publication of the same load with another
        fingerprint is not a no-op."""
        text = json.dumps({"v": ACCESS_VERSION, "sites": self.sites})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @staticmethod
    def monitor_reads(table: PublishedTable) -> bool:
        return table.schema in MONITOR_SCHEMAS or (table.schema, table.name) in MONITOR_TABLES


def ensure_roles(cur, plan: AccessPlan) -> None:
    """Create the missing group roles (NOLOGIN; roles belong to the whole cluster)."""
    existing = {r for (r,) in cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                          [plan.roles]).fetchall()}
    missing = [sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(r)) for r in plan.roles if r not in existing]
    if missing:   # one round trip (no parameters: several statements in one string)
        cur.execute(sql.SQL(";\n").join(missing))


def grant_statements(plan: AccessPlan, schema: str, tables: list[PublishedTable]) -> list[sql.Composable]:
    """Grants and row-level security of one staged schema (`schema` is its staged name; the
    tables carry their live schema, which decides who reads them)."""
    analyst, monitor = sql.Identifier(ANALYST_ROLE), sql.Identifier(MONITOR_ROLE)
    site_roles = [sql.Identifier(plan.site_role(s)) for s in plan.sites]
    readers = {ANALYST_ROLE}
    out: list[sql.Composable] = [sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema))]
    for table in tables:
        target = sql.Identifier(schema, table.name)
        out += [sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target),
                sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target),
                sql.SQL("GRANT SELECT ON {} TO {}").format(target, analyst),
                sql.SQL("CREATE POLICY all_rows_analyst ON {} FOR SELECT TO {} USING (true)").format(target, analyst)]
        if plan.monitor_reads(table):
            readers.add(MONITOR_ROLE)
            out += [sql.SQL("GRANT SELECT ON {} TO {}").format(target, monitor),
                    sql.SQL("CREATE POLICY all_rows_monitor ON {} FOR SELECT TO {} USING (true)").format(target, monitor)]
        if table.has_site and site_roles:
            readers.update(plan.site_role(s) for s in plan.sites)
            out.append(sql.SQL("GRANT SELECT ON {} TO {}").format(target, sql.SQL(", ").join(site_roles)))
            out += [sql.SQL("CREATE POLICY {} ON {} FOR SELECT TO {} USING ({} = {})").format(
                        sql.Identifier(f"own_rows_{plan.site_role(site)}"), target, role,
                        sql.Identifier(table.site_column), sql.Literal(site))
                    for site, role in zip(plan.sites, site_roles)]
    out.append(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
        sql.Identifier(schema), sql.SQL(", ").join(sql.Identifier(r) for r in sorted(readers))))
    return out
