"""`harness serve` as a real process for the tests: started with its command line, its output in
a file (a pipe nobody reads would fill and block the server's logging), stopped with SIGTERM."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Start-up includes generating five host keys (RSA 3072 is the slow one) on a loaded machine.
START_TIMEOUT = 60.0
KNOWN_HOSTS_LINE = re.compile(r"^\[127\.0\.0\.1\]:\d+ \S+ AAAA\S+$", re.M)


@dataclass
class ServeProcess:
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    output: Path

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def known_hosts_lines(self) -> list[str]:
        return KNOWN_HOSTS_LINE.findall(self.log())

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of ``pattern`` in the server's output, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log(), re.M)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the server's output within {timeout} s:\n{self.log()}")
            time.sleep(0.05)


@functools.cache
def shared_state_dir() -> Path:
    """One state dir with all five host keys for this test process (removed at exit).

    Why: generating the keys (RSA 3072 above all) costs a second or more on a loaded machine;
    tests that are not about the state dir share one set instead of making their own.
    """
    from harness.host_key_store import load_or_create_host_keys

    state = Path(tempfile.mkdtemp(prefix="serve-state-")) / "state"
    load_or_create_host_keys(state)
    atexit.register(shutil.rmtree, state.parent, True)
    return state


@contextmanager
def serve_cli(workdir: Path, *args: str, state_dir: Path | None = None, nohup: bool = False) -> Iterator[ServeProcess]:
    """`python -m harness serve --port 0 --state-dir STATE ARGS` until the block ends
    (STATE: ``state_dir``, else the shared one; ``nohup``: started under nohup, SIGHUP ignored)."""
    state = state_dir or shared_state_dir()
    output = workdir / f"serve-{time.monotonic_ns()}.log"
    argv = [*(["nohup"] if nohup else []), sys.executable, "-m", "harness", "serve", "--port", "0",
            "--state-dir", str(state), *args]  # fmt: skip
    with output.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore"))  # fmt: skip
    served = ServeProcess(proc, "", 0, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (match := re.search(r"serving SSH on ([\d.]+):(\d+)", served.log())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"harness serve did not start (exit {proc.poll()}):\n{served.log()}")
            time.sleep(0.05)
        served.host, served.port = match.group(1), int(match.group(2))
        served.wait_for_log(KNOWN_HOSTS_LINE.pattern)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
