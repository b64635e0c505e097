-- Margin by UTC day: what `margindash report --by day --json` prints (with --tz UTC, the default), to the cent.
-- Cost from the FOCUS costs table by the call's UTC day (x_Day = the day of ChargePeriodStart), revenue from the
-- revenue table by the day it counts on. A day with revenue and no calls is a row too.
-- Dialects: DuckDB, ClickHouse as written (x_Day is a DATE, ClickHouse reads Parquet date32 as Date32),
-- BigQuery: DECIMAL(38, 12) -> BIGNUMERIC.
-- Inner columns are named apart from the output (n_...): ClickHouse resolves an output alias inside
-- an aggregate, so SUM(calls) AS calls would nest aggregates there.
-- A row whose every call is unpriced has a null cost and margin (unknown, never $0), as in the report.
SELECT
  day,
  SUM(n_calls) AS calls,
  SUM(n_unpriced) AS unpriced_calls,
  CASE WHEN SUM(n_unpriced) > 0 AND SUM(n_unpriced) = SUM(n_calls) THEN NULL
       ELSE COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) END AS cost_usd,
  SUM(n_revenue) AS revenue_cents,
  CASE WHEN SUM(n_unpriced) > 0 AND SUM(n_unpriced) = SUM(n_calls) THEN NULL
       ELSE CAST(SUM(n_revenue) AS DECIMAL(36, 0)) * CAST(0.01 AS DECIMAL(3, 2))
            - COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) END AS margin_usd
FROM (
  SELECT x_Day AS day, CAST(1 AS BIGINT) AS n_calls,
         CAST(CASE WHEN x_Unpriced THEN 1 ELSE 0 END AS BIGINT) AS n_unpriced,
         BilledCost AS n_cost, CAST(0 AS BIGINT) AS n_revenue
  FROM costs
  UNION ALL
  SELECT x_Day, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS DECIMAL(38, 12)), x_UsdCents
  FROM revenue
) AS t
GROUP BY day
ORDER BY day
