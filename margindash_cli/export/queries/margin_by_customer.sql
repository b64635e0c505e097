-- Margin by customer: what `margindash report --by customer --json` prints, to the cent, for the exported range.
-- Tables: costs (FOCUS 1.2, one row per call) and revenue (x_ columns), from `margindash export --schema focus`.
-- Cost is exact decimal USD (DECIMAL(38, 12)), revenue is integer US cents, margin = revenue - cost, exact.
-- Inner columns are named apart from the output (n_...): ClickHouse resolves an output alias inside
-- an aggregate, so SUM(calls) AS calls would nest aggregates there.
-- A row whose every call is unpriced has a null cost and margin (unknown, never $0), as in the report.
-- Unconverted revenue (x_UsdCents null: no exchange rate yet) is left out, as the report leaves it out.
-- Dialects: DuckDB and ClickHouse run this as written (ClickHouse: DECIMAL(38, 12) is Decimal128(12)).
-- BigQuery: NUMERIC holds 9 decimals only, so DECIMAL(38, 12) becomes BIGNUMERIC and DECIMAL(36, 0) / (3, 2) too
-- (`margindash export --sql bigquery` prints it so). UNION ALL and COALESCE are the same everywhere.
SELECT
  customer,
  SUM(n_calls) AS calls,
  SUM(n_unpriced) AS unpriced_calls,
  CASE WHEN SUM(n_unpriced) > 0 AND SUM(n_unpriced) = SUM(n_calls) THEN NULL
       ELSE COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) END AS cost_usd,
  SUM(n_revenue) AS revenue_cents,
  CASE WHEN SUM(n_unpriced) > 0 AND SUM(n_unpriced) = SUM(n_calls) THEN NULL
       ELSE CAST(SUM(n_revenue) AS DECIMAL(36, 0)) * CAST(0.01 AS DECIMAL(3, 2))
            - COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) END AS margin_usd
FROM (
  SELECT COALESCE(x_CustomerId, '(unattributed)') AS customer, CAST(1 AS BIGINT) AS n_calls,
         CAST(CASE WHEN x_Unpriced THEN 1 ELSE 0 END AS BIGINT) AS n_unpriced,
         BilledCost AS n_cost, CAST(0 AS BIGINT) AS n_revenue
  FROM costs
  UNION ALL
  SELECT COALESCE(x_CustomerId, '(unattributed)'), CAST(0 AS BIGINT), CAST(0 AS BIGINT),
         CAST(NULL AS DECIMAL(38, 12)), x_UsdCents
  FROM revenue
) AS t
GROUP BY customer
ORDER BY margin_usd NULLS LAST, customer
