"""The shipped warehouse SQL (`margindash_cli/export/queries/*.sql`) and `export OUTDIR --sql ENGINE`, which prints it
with the statements that make the exported tables visible to that engine.

The queries are written once, in SQL that DuckDB and ClickHouse accept as is; for BigQuery the only change is the
exact decimal type (NUMERIC holds 9 decimals, cost needs 12: BIGNUMERIC), which `for_engine` applies.
"""

from __future__ import annotations

from pathlib import Path

from margindash_cli.errors import UsageError

ENGINES = ("duckdb", "clickhouse", "bigquery")
QUERIES = ("margin_by_customer", "margin_by_feature", "margin_by_model", "margin_by_day", "cost_concentration")
TABLES = ("costs", "revenue", "revenue_allocation")
HERE = Path(__file__).parent / "queries"


def query(name: str) -> str:
    """A shipped query's text, comments included, with no trailing semicolon."""
    return (HERE / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def for_engine(sql: str, engine: str) -> str:
    if engine == "clickhouse":  # a NULL cast to a plain Decimal is an error there: it must be Nullable
        sql = sql.replace("CAST(NULL AS DECIMAL(38, 12))", "CAST(NULL AS Nullable(DECIMAL(38, 12)))")
    if engine == "bigquery":
        for t in ("DECIMAL(38, 12)", "DECIMAL(36, 0)", "DECIMAL(3, 2)"):
            sql = sql.replace(t, "BIGNUMERIC")
        sql = sql.replace("AS BIGINT)", "AS INT64)").replace("AS DOUBLE)", "AS FLOAT64)")
    return sql


def _views(engine: str, outdir: Path) -> list[str]:
    root = str(outdir.resolve() if engine == "duckdb" else outdir).replace("'", "''")
    if engine == "duckdb":
        return [
            f"CREATE OR REPLACE VIEW {t} AS SELECT * FROM read_parquet('{root}/{t}/*/*.parquet', hive_partitioning = true)"
            for t in TABLES
        ]
    if engine == "clickhouse":
        # views over the files, for clickhouse-local (`... --sql clickhouse | clickhouse local --multiquery`) or a server
        # whose user_files path holds OUTDIR; to keep the data in MergeTree, CREATE TABLE ... AS SELECT from them
        return [f"CREATE OR REPLACE VIEW {t} AS SELECT * FROM file('{root}/{t}/*/*.parquet', Parquet)" for t in TABLES]
    return [
        f"-- bq load --source_format=PARQUET --hive_partitioning_mode=AUTO --hive_partitioning_source_uri_prefix=gs://BUCKET/{t}/ "
        f"DATASET.{t} 'gs://BUCKET/{t}/*.parquet'   (copy {root}/{t} to gs://BUCKET/{t} first; run the queries with "
        f"--dataset_id=DATASET)"
        for t in TABLES
    ]


def engine_script(engine: str, outdir: Path) -> str:
    """The views (or load commands) for an export in OUTDIR, then every shipped query, for one engine."""
    if engine not in ENGINES:
        raise UsageError(f"unknown --sql engine {engine!r}", f"use one of {', '.join(ENGINES)}")
    manifest = outdir / "_manifest.json"
    if manifest.exists():
        import orjson  # lazy: start-up

        m = orjson.loads(manifest.read_bytes())
        if m.get("schema") != "focus" or m.get("format") != "parquet":
            raise UsageError(
                f"{outdir} holds a --schema {m.get('schema', 'margindash')} --format {m.get('format')} export",
                f"the SQL reads `margindash export {outdir} --schema focus` (Parquet)",
            )
    parts = [f"-- margindash warehouse SQL for {engine}: the tables of `margindash export {outdir} --schema focus`"]
    parts += [s if s.splitlines()[-1].startswith("--") else s + ";" for s in _views(engine, outdir)]
    for name in QUERIES:
        parts.append(f"-- query: {name}\n" + for_engine(query(name), engine) + ";")
    return "\n\n".join(parts) + "\n"
