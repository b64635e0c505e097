"""Clients of the providers' cost APIs (`sync-costs`). Secrets go into request headers here and nowhere else.

http.py             - GET a JSON page with fetch.py's retry and Retry-After policy, a total deadline, exact decimals;
                      401/403 become an error naming the provider and the key's variable (never the key).
openai_costs.py     - OpenAI /v1/organization/costs and /usage/completions pages into billed rows.
anthropic_costs.py  - Anthropic /v1/organizations/cost_report and /usage_report/messages pages into billed rows.
"""
