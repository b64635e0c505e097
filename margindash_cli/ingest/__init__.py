"""`ingest`: usage logs into the store, incremental, idempotent, crash-safe, and nothing lost.

formats/     - one module per log shape (matches/parse), and the shared field readers.
registry.py  - the `--format` names and auto-detection.
canonical.py - one parsed line into validated usage events.
pipeline.py  - files, checkpoints, quarantine, batches into the store; the reader process.
"""
