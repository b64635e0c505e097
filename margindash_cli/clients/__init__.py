"""The only package that talks to a network. Secrets go into requests here and nowhere else.

retry.py            - the one retry policy: what retries (429, 5xx, dropped connections), backoff, Retry-After.
deadline.py         - a total deadline on one exchange: its sockets are shut down when it passes.
fetch.py            - HTTP GET with retry.py's policy, a total deadline and ETag revalidation (`sync-prices`).
http.py             - one JSON page of a provider's cost API through fetch.py, exact decimals; 401/403 become an
                      error naming the provider and the key's variable (never the key).
openai_costs.py     - OpenAI /v1/organization/costs and /usage/completions pages into billed rows.
anthropic_costs.py  - Anthropic /v1/organizations/cost_report and /usage_report/messages pages into billed rows.
stripe_api.py       - Stripe through the official `stripe` package: key, client, paging, retry.py's policy; webhook
                      signatures (`sync-stripe`, `stripe apply-event`).
alerts.py           - budget alerts: SMTP and webhooks, each send within a deadline.
secrets.py          - API keys from an owner-only file or an environment variable (Stripe, the cost APIs).
"""
