"""scripts/dev/store_calls.py routes flat `store.method()` calls through their repository, and none is left (#13)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from margindash_cli.store.db import Store

REPO = Path(__file__).resolve().parent.parent.parent
spec = importlib.util.spec_from_file_location("store_calls", REPO / "scripts" / "dev" / "store_calls.py")
store_calls = importlib.util.module_from_spec(spec)
spec.loader.exec_module(store_calls)


def test_no_call_site_is_left_to_rewrite(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert store_calls.main(["--check"]) == 0, capsys.readouterr().out


def test_a_rewrite_is_idempotent_and_moves_imports():
    text = (
        "from margindash_cli.store.db import DAY_MS, Store, BilledCostRow\n"
        "store.list_events(); self.store.stripe_invoice_ids(); s.fx_rate('eur', d, 3); store.write(); store.get_meta('k')\n"
        'monkeypatch.setattr(Store, "event_rows", f)\n'
    )
    once = store_calls.rewrite(text)
    assert once == (
        "from margindash_cli.store.db import Store\nfrom margindash_cli.store.rows import BilledCostRow\n"
        "from margindash_cli.store.schema import DAY_MS\n"
        "store.events.list_events(); self.store.stripe.stripe_invoice_ids(); s.revenue.fx_rate('eur', d, 3);"
        " store.write(); store.get_meta('k')\n"
        'monkeypatch.setattr(Events, "event_rows", f)\n'
    )
    assert store_calls.rewrite(once) == once


def test_the_family_map_names_every_repository_method():
    store = Store.open(":memory:")
    try:
        for family in store_calls.FAMILIES:
            repo = getattr(store, family)
            methods = {n for n in vars(type(repo)) if callable(getattr(type(repo), n)) and not n.startswith("__")}
            assert methods == set(store_calls.FAMILIES[family]), family
            assert not any(hasattr(Store, m) for m in methods), family  # each lives in one place only
    finally:
        store.close()


@pytest.mark.parametrize(
    "name", ["open", "close", "write", "read_snapshot", "get_meta", "set_meta", "dim_id", "model_id"]
)
def test_store_level_methods_stay_on_the_store(name):
    assert hasattr(Store, name) and name not in store_calls.FAMILY
