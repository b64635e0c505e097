"""margindash: revenue, cost and margin of an AI product, from local usage logs."""

__version__ = "0.1.0.dev0"
