"""One module per word the user types: `margindash report` is report.py, `sync-stripe` is stripe.py.

Each module declares its Typer commands and wires them: parse the options (cli/options.py), call the feature
package's run.py, hand the result to cli/render/<command>.py (or kit.emit_json for --json). No logic lives here.
customers.py is `customers map|list`, fx.py is `fx import`, db.py is `db path`, schema.py is `schema event`.
"""
