"""API keys: read from a file only its owner can read, else from an environment variable. Keys stay in clients/.

A key file that group or others may read is refused (`chmod 600` is the hint): a key is a secret, and a file
anyone can read is not. The key's text is never printed; messages name where it came from.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

from margindash_cli.errors import InputError


def read_secret(
    env: Mapping[str, str], env_name: str, key_file: Path | None, *, hint: str | None = None
) -> tuple[str, str] | None:
    """(key, where it came from) from `key_file`, else from `env_name`; None when the variable is unset or empty.
    The key is stripped of surrounding whitespace; callers check its shape."""
    if key_file is None:
        key = (env.get(env_name) or "").strip()
        return (key, env_name) if key else None
    try:
        st = key_file.stat()
    except OSError as exc:
        raise InputError(f"cannot read the key file {key_file}: {exc.strerror}", hint) from None
    if st.st_mode & 0o077:
        raise InputError(
            f"refusing the key file {key_file}: group or others may access it (mode {stat.S_IMODE(st.st_mode):04o})",
            f"chmod 600 {key_file}",
        )
    return key_file.read_text(encoding="utf-8", errors="replace").strip(), f"the key file {key_file}"
