"""What a feature would cost on other models, ranked by benchmark score per dollar (`simulate`).

compute.py - pure: candidates, costs and ranking.
run.py     - read the period's calls from the store, re-price them on each candidate, rank.
"""
