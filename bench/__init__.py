"""`make bench`: how a load scales with the registry (issue "Registry scale").

A benchmark is only useful if it measures the loads operators run, so every load here is the
real `itp-warehouse load` in its own process (the same Dagster job as the nightly schedule),
timed from the Dagster event log and watched from /proc, next to the fastest possible read of
the same lab files (DuckDB `read_csv`, the floor). See `bench.run` for the procedure.
"""
