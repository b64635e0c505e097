"""`export`: events, daily rollups and FOCUS 1.2 tables as month-partitioned files for a warehouse.

run.py      - write month partitions (Parquet or CSV) atomically, with a manifest.
focus.py    - the cost of each call under FOCUS 1.2 column names, and revenue beside it.
sql.py      - the shipped warehouse SQL (queries/*.sql) for DuckDB, ClickHouse and BigQuery.
"""
