"""One module per word the user types: `margindash report` is report.py, `sync-stripe` is stripe.py."""
