-- Margin by feature, revenue allocated by events: what `margindash report --by feature --json` prints, to the cent.
-- Revenue comes from revenue_allocation: margindash splits each customer-day's revenue over that day's finest cells
-- (feature, vendor, model, segment, plan) by their calls, with exact remainders. Portable SQL cannot repeat that
-- cumulative-rounding split exactly, so the export carries the split and this query only sums it. Cost comes from
-- the FOCUS costs table (BilledCost, null = unpriced). '(no usage)' = revenue of customer-days without calls.
-- Dialects: as margin_by_customer.sql (BigQuery: DECIMAL(38, 12) -> BIGNUMERIC).
-- Inner columns are named apart from the output (n_...): ClickHouse resolves an output alias inside
-- an aggregate, so SUM(calls) AS calls would nest aggregates there.
-- A row whose every call is unpriced has a null cost and margin (unknown, never $0), as in the report.
SELECT
  feature,
  SUM(n_calls) AS calls,
  SUM(n_unpriced) AS unpriced_calls,
  CASE WHEN SUM(n_unpriced) > 0 AND SUM(n_unpriced) = SUM(n_calls) THEN NULL
       ELSE COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) END AS cost_usd,
  SUM(n_revenue) AS revenue_cents,
  CASE WHEN SUM(n_unpriced) > 0 AND SUM(n_unpriced) = SUM(n_calls) THEN NULL
       ELSE CAST(SUM(n_revenue) AS DECIMAL(36, 0)) * CAST(0.01 AS DECIMAL(3, 2))
            - COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) END AS margin_usd
FROM (
  SELECT COALESCE(x_Feature, '(none)') AS feature, CAST(1 AS BIGINT) AS n_calls,
         CAST(CASE WHEN x_Unpriced THEN 1 ELSE 0 END AS BIGINT) AS n_unpriced,
         BilledCost AS n_cost, CAST(0 AS BIGINT) AS n_revenue
  FROM costs
  UNION ALL
  SELECT COALESCE(x_Feature, '(none)'), CAST(0 AS BIGINT), CAST(0 AS BIGINT),
         CAST(NULL AS DECIMAL(38, 12)), x_RevenueUsdCents
  FROM revenue_allocation
) AS t
GROUP BY feature
ORDER BY margin_usd NULLS LAST, feature
