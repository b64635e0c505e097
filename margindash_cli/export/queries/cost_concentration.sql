-- Cost concentration: customers ranked by cost, biggest first (ties by customer id), each with its share of all
-- cost and the cumulative share, as `margindash report concentration` ranks them. The top 10% is the first
-- ceil(N * 10 / 100) ranks of the N customers with usage or revenue (unattributed calls are not a customer, but
-- their cost is in the whole). Shares are percent, 2 decimals, SQL ROUND rounds half away from zero where the
-- report rounds half to even, so a share exactly on .xx5 can differ by 0.01 in the last place.
-- Dialects: window functions (SUM() OVER, ROW_NUMBER) are the same in DuckDB, ClickHouse (>= 21.x) and BigQuery,
-- BigQuery: DECIMAL(38, 12) -> BIGNUMERIC. Division is done in DOUBLE for the share only, never for money.
WITH per AS (
  SELECT customer,
         COALESCE(SUM(n_cost), CAST(0 AS DECIMAL(38, 12))) AS cost_usd,
         SUM(n_revenue) AS revenue_cents
  FROM (
    SELECT x_CustomerId AS customer, BilledCost AS n_cost, CAST(0 AS BIGINT) AS n_revenue FROM costs
    UNION ALL
    SELECT x_CustomerId, CAST(NULL AS DECIMAL(38, 12)), x_UsdCents FROM revenue
  ) AS t
  GROUP BY customer
),
total AS (SELECT SUM(cost_usd) AS all_cost FROM per)
SELECT
  ROW_NUMBER() OVER (ORDER BY cost_usd DESC, customer) AS cost_rank,
  customer,
  cost_usd,
  revenue_cents,
  CAST(revenue_cents AS DECIMAL(36, 0)) * CAST(0.01 AS DECIMAL(3, 2)) - cost_usd AS margin_usd,
  ROUND(CAST(cost_usd AS DOUBLE) * 100 / NULLIF(CAST(all_cost AS DOUBLE), 0), 2) AS cost_share_pct,
  ROUND(CAST(SUM(cost_usd) OVER (ORDER BY cost_usd DESC, customer ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
             AS DOUBLE) * 100 / NULLIF(CAST(all_cost AS DOUBLE), 0), 2) AS cumulative_cost_share_pct
FROM per CROSS JOIN total
WHERE customer IS NOT NULL
ORDER BY cost_rank
