"""The shipped price catalog and benchmark scores (read with importlib.resources; see ATTRIBUTION.md)."""
