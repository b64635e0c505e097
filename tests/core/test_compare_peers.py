"""scripts/compare_peers.py: its margindash column is the shipped catalog's price of every corpus case, and its
verdicts count a $0 where a price is due apart from a wrong price. (The peers themselves are optional dev
dependencies, `pip install -e '.[peers]'`; the script is not run here.)"""

from __future__ import annotations

import importlib.util
import json
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def script():
    spec = importlib.util.spec_from_file_location("compare_peers", ROOT / "scripts" / "compare_peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_margindash_column_prices_every_case_as_judged():
    cp = script()
    pricer = cp.margindash_pricer()
    from margindash_cli.ingest.canonical import normalize

    for line in cp.CORPUS.read_text().splitlines():
        case = json.loads(line)
        [ev] = normalize(case["event"])
        want = None if case["expected_cost_usd"] is None else Decimal(case["expected_cost_usd"])
        assert cp.verdict(cp.price_margindash(pricer, ev), want) == "agree", case["id"]


def test_verdicts():
    cp = script()
    D = Decimal
    assert cp.verdict(D("1"), D("1")) == "agree"
    assert cp.verdict(D("1.0000000001"), D("1"), D("1e-9")) == "agree"
    assert cp.verdict(D("1.1"), D("1")) == "wrong"
    assert cp.verdict(D("0"), D("1")) == "silent $0"
    assert cp.verdict(None, D("1")) == "unpriced"
    assert cp.verdict(None, None) == "agree" and cp.verdict(D("0"), None) == "priced an unpriced model"
