"""margindash as real processes, for the crash and concurrency tests: this interpreter, this checkout.

A process is started with `spawn` and either waited for or killed with SIGKILL (`kill -9`): no signal
handler, no `finally`, no flush, exactly what a crashed machine or an OOM killer does. Output goes to
files, so a killed process can never block on a full pipe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
# Read at import (collection) time: conftest's isolation removes every MARGINDASH_* variable before a test runs.
TEST_SEED_ENV = "MARGINDASH_TEST_SEED"
_SEED_SETTING = os.environ.get(TEST_SEED_ENV, "")
DEFAULT_SEED = 22


def seeded_rng(name: str):
    """A random.Random for a randomized test: seeded from MARGINDASH_TEST_SEED, else a fixed seed. The seed is
    printed at once (pytest shows a failed test's output), so a failure can be re-run exactly."""
    import random

    seed = int(_SEED_SETTING) if _SEED_SETTING.strip().lstrip("-").isdigit() else DEFAULT_SEED
    print(f"{name}: {TEST_SEED_ENV}={seed}")
    return random.Random(seed), seed


def env(**extra: object) -> dict[str, str]:
    """The test's environment (already isolated by conftest) with this checkout importable, plus `extra`."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), out.get("PYTHONPATH", "")) if p)
    out.update({k: str(v) for k, v in extra.items()})
    return out


@dataclass
class Proc:
    popen: subprocess.Popen
    out: Path
    err: Path
    started: float

    @property
    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait(self, timeout: float = 120) -> int:
        return self.popen.wait(timeout=timeout)

    def kill_after(self, delay: float) -> bool:
        """SIGKILL the process `delay` seconds after it started. True if it was killed, False if it had already exited."""
        try:
            self.popen.wait(timeout=max(0.0, self.started + delay - time.monotonic()))
            return False
        except subprocess.TimeoutExpired:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()
            return True

    def kill_when(self, ready, then: float, timeout: float = 60) -> bool:
        """SIGKILL the process `then` seconds after `ready()` first returns true (polled every 5 ms), so the kill
        lands after the run has visibly started its work. True if it was killed, False if it exited first."""
        deadline = time.monotonic() + timeout
        while self.popen.poll() is None and time.monotonic() < deadline:
            if ready():
                return self.kill_after(time.monotonic() - self.started + then)
            time.sleep(0.005)
        return self.kill_after(0) if self.popen.poll() is None else False


_counter = [0]


def spawn(*args: object, env: dict[str, str], logs: Path) -> Proc:
    """Start `margindash ARGS...` with its stdout and stderr in files under `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    _counter[0] += 1
    n = _counter[0]
    out, err = logs / f"{n}.out", logs / f"{n}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        popen = subprocess.Popen(
            [sys.executable, "-m", "margindash_cli", *map(str, args)],
            env=env,
            stdout=fo,
            stderr=fe,
            stdin=subprocess.DEVNULL,
        )
    return Proc(popen, out, err, time.monotonic())


def run(*args: object, env: dict[str, str], logs: Path, timeout: float = 120) -> Proc:
    """Run `margindash ARGS...` to the end."""
    p = spawn(*args, env=env, logs=logs)
    p.wait(timeout)
    return p
