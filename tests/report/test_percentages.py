"""One percentage rule (endpoints.md §7): the dbt macro `percent` of every mart and its Python
twin (`orchestration.percentages`, used by the report) give the same number for every count
and denominator. The macro is rendered from its own file and run in DuckDB; a change to either
side that the other does not follow fails here."""
from __future__ import annotations

import random
from decimal import Decimal

import duckdb
import jinja2
import pandas as pd

from orchestration.percentages import percent
from sources.study_parameters import DBT_PROJECT_DIR


def macro_sql(n: str, denominator: str) -> str:
    """The SQL the macro compiles to, rendered with its own file and the type macro it calls."""
    macros = "".join((DBT_PROJECT_DIR / "macros" / name).read_text() for name in ("types.sql", "percent.sql"))
    return jinja2.Environment().from_string(macros + "{{ percent('" + n + "', '" + denominator + "') }}").render()


def test_the_macro_and_python_agree_on_every_count_up_to_600_and_on_large_ones():
    pairs = [(n, d) for d in range(0, 601) for n in range(0, d + 1)]
    rng = random.Random(13)
    pairs += [(rng.randint(0, d), d) for d in (rng.randint(601, 10_000_000) for _ in range(20_000))]
    counts = pd.DataFrame(pairs, columns=["n", "d"])
    with duckdb.connect() as conn:
        got = conn.execute(f"SELECT n, d, {macro_sql('n', 'd')} FROM counts").fetchall()
    disagreements = [(n, d, sql) for n, d, sql in got if sql != percent(n, d)]
    assert len(got) == len(pairs) and disagreements == []


def test_half_up_on_exact_halves_where_a_double_rounds_down():
    assert percent(249, 2000) == Decimal("12.5")   # 12.45: round() on a double gives 12.4
    assert round(100.0 * 249 / 2000, 1) == 12.4
    assert (percent(50, 68), percent(42, 68), percent(23, 63)) == (Decimal("73.5"), Decimal("61.8"), Decimal("36.5"))
    assert percent(0, 0) is None and percent(3, 3) == Decimal("100.0")
