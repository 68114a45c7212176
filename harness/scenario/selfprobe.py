"""The self-probe: our own stack, both roles, against the hostile peer the scenario engine makes.

The self-check (selfcheck.py, selfcheck_clients.py) shows that every scenario *can* fail. The
self-probe asks the opposite question of our own ``rfc`` references (our server as it is, our
client as it is): facing every misbehaviour the scenarios know, does our stack

1. react as the RFC requires (the cell passes, or is a deviation the caller explains),
2. log no traceback (no record at WARNING or above with exc_info or "Traceback" in its text, no
   ERROR record at all, no uncaught exception in any thread),
3. leak nothing (no thread, file descriptor or child process left once the bound has passed),
4. and keep serving (a normal login with ``exec true`` succeeds during and after the batch)?

Cells run in batches, in parallel within a batch (the run_cells thread pool of the self-check):
threads, descriptors and children belong to the whole process, so a leak can only be seen per
batch. When a batch shows a leak or a traceback, :func:`probe` runs the batch's cells again one
at a time with the same checks, so the failure names the cell that did it (or says it did not
recur cell by cell). The price of a per-cell check on every cell (about 90 s serially instead of
about 16 s with two pytest-xdist workers) is paid only when something is wrong.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.scenario.execute import Result
from harness.scenario.selfcheck import Job, run_cells
from harness.scenario.selfcheck_clients import PASSWORD, RUN_BOUND, USERNAME, ReferenceClientTarget

Cell = tuple[Any, str, dict[str, Any]]  # (Scenario, variant id, params), as run_cells takes them
# How long a cell's threads, descriptors and children may outlive it: the reference client's
# join bound (selfcheck_clients.RUN_BOUND + 2 s) is the longest legitimate wait; a connection's
# writer drains for at most DRAIN_TIMEOUT (5 s) and a session's program gets a 2 s hang-up grace.
SETTLE_BOUND = 10.0
NORMAL_BOUND = 10.0  # every wait of the normal login that shows the server still serves
NORMAL_EVERY = 0.5  # seconds between normal logins while a batch runs
# Authentication requests after the first password failure, as ssh's NumberOfPasswordPrompts (3).
LOGIN_RETRIES = 2


class ProbeClientTarget(ReferenceClientTarget):
    """The ``rfc`` reference client logging in as an interactive user does.

    After a failure it tries again while the server still offers a way: the password once more,
    or keyboard-interactive answering every prompt with the password. Why not the self-check's
    client (one password, then it gives up): the probe must reach the server's later abuse
    (prompt floods, control characters in prompts) with our client; the self-check keeps its
    simpler client, whose behaviours its verdicts were built on."""

    def __init__(self) -> None:
        super().__init__("rfc")

    def login(self, transport: Any, hostkey: Any) -> None:
        from harness.ssh.errors import AuthenticationException, BadAuthenticationType

        transport.connect(hostkey=hostkey, timeout=RUN_BOUND)
        method = "password"
        for attempt in range(LOGIN_RETRIES + 1):
            try:
                if method == "password":
                    transport.auth_password(USERNAME, PASSWORD)
                else:
                    transport.auth_interactive_dumb(USERNAME, PASSWORD)
                return
            except BadAuthenticationType as exc:  # the method is not offered: another one is
                offered = [m for m in ("password", "keyboard-interactive") if m in exc.allowed_types]
                if not offered or attempt == LOGIN_RETRIES:
                    raise
                method = offered[0]
            except AuthenticationException:
                if attempt == LOGIN_RETRIES:
                    raise


@dataclass(frozen=True)
class Snapshot:
    """The process's threads, open descriptors and child processes at one moment."""

    threads: frozenset[threading.Thread]
    fds: dict[int, str]
    children: frozenset[int]

    @classmethod
    def take(cls) -> Snapshot:
        return cls(frozenset(t for t in threading.enumerate() if t.is_alive()), _open_fds(), _children())

    def leaks_since(self, before: Snapshot) -> list[str]:
        """What is here now that was not ``before`` (descriptors by count: numbers are reused)."""
        out = [f"thread {t.name!r}" for t in sorted(self.threads - before.threads, key=lambda t: t.name)]
        if len(self.fds) > len(before.fds):
            new = [f"{fd} -> {target}" for fd, target in sorted(self.fds.items()) if before.fds.get(fd) != target]
            out.append(f"{len(self.fds) - len(before.fds)} file descriptor(s) more: {', '.join(new) or '?'}")
        out += [f"child process {pid} ({_describe_pid(pid)})" for pid in sorted(self.children - before.children)]
        return out


def _open_fds() -> dict[int, str]:
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the descriptor listdir itself used, closed by now
    return fds


def _children() -> frozenset[int]:
    """Child processes of every thread of ours (zombies included: unreaped is leaked too)."""
    pids: set[int] = set()
    read = 0
    for task in os.listdir("/proc/self/task"):
        try:
            pids.update(int(p) for p in Path(f"/proc/self/task/{task}/children").read_text().split())
            read += 1
        except OSError:
            pass  # the thread ended meanwhile
    if not read:  # never a silent pass: the check would see no child at all
        raise RuntimeError("/proc/self/task/*/children is missing (a kernel without CONFIG_PROC_CHILDREN)")
    return frozenset(pids)


def _describe_pid(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return f"{stat[stat.index('(') + 1 : stat.rindex(')')]}, state {stat[stat.rindex(')') + 2]}"
    except (OSError, ValueError, IndexError):
        return "gone"


def settle(before: Snapshot, bound: float = SETTLE_BOUND) -> list[str]:
    """Wait up to ``bound`` seconds for everything started since ``before`` to end; what is left."""
    deadline = time.monotonic() + bound
    while True:
        leaks = Snapshot.take().leaks_since(before)
        if not leaks or time.monotonic() >= deadline:
            return leaks
        time.sleep(0.05)


class TracebackTrap(logging.Handler):
    """Collects the log records and uncaught thread exceptions that say something crashed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []
        self._lock_found = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or "Traceback" in text or record.levelno >= logging.ERROR:
            where = f"{record.name} {record.levelname} (thread {record.threadName})"
            self._add(f"{where}: {text[:300]}" + (" [with exc_info]" if record.exc_info else ""))

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        self._add(f"uncaught {args.exc_type.__name__} in thread {name!r}: {args.exc_value}")

    def _add(self, line: str) -> None:
        with self._lock_found:
            self.found.append(line)

    @contextmanager
    def installed(self) -> Iterator[TracebackTrap]:
        """On the root logger (every logger propagates there) and as the thread excepthook."""
        root, hook = logging.getLogger(), threading.excepthook
        root.addHandler(self)
        threading.excepthook = self._thread_hook
        try:
            yield self
        finally:
            threading.excepthook = hook
            root.removeHandler(self)


def normal_session(info: Any, bound: float = NORMAL_BOUND) -> None:
    """A well-behaved login to a reference server: our client, its password, ``exec true``.

    Raises (with the reason) when the server does not serve it within ``bound`` seconds."""
    from harness.ssh.keys.known_hosts import HostKeys
    from harness.transport import Transport

    sock = socket.create_connection((info.host, info.port), timeout=bound)
    with Transport(sock) as transport:
        transport.connect(host_keys=HostKeys(info.known_hosts), hostname=info.host, port=info.port,
                          username=info.username, password=info.password, timeout=bound)  # fmt: skip
        chan = transport.open_session(timeout=bound)
        chan.settimeout(bound)
        chan.exec_command("true")
        status = chan.recv_exit_status()
        if status != 0:
            raise RuntimeError(f"exec true ended with status {status}")


@contextmanager
def keeps_serving(info: Any) -> Iterator[list[str]]:
    """Normal logins to the server ``info`` every NORMAL_EVERY s while the body runs; the
    yielded list collects their failures (a server that stops serving others shows up here)."""
    failures: list[str] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                normal_session(info)
            except Exception as exc:
                failures.append(f"a normal login during the batch failed: {type(exc).__name__}: {exc}")
            stop.wait(NORMAL_EVERY)

    thread = threading.Thread(target=loop, name="selfprobe-normal-logins", daemon=True)
    thread.start()
    try:
        yield failures
    finally:
        stop.set()
        thread.join(NORMAL_BOUND * 3)


@dataclass
class BatchReport:
    """What one batch did: each cell's result, and the problems of the batch as a whole."""

    name: str
    results: dict[str, Result]
    tracebacks: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    serving: list[str] = field(default_factory=list)  # failures of the normal logins
    culprits: dict[str, list[str]] = field(default_factory=dict)  # cell -> its own problems
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        return self.tracebacks + self.leaks + self.serving

    def describe(self) -> str:
        lines = [f"batch {self.name}:"] + [f"  {p}" for p in self.problems]
        if self.problems and not self.culprits:
            lines.append("  (not reproduced cell by cell: an interaction of parallel cells or timing)")
        for cell, problems in self.culprits.items():
            lines += [f"  cell {cell}:"] + [f"    {p}" for p in problems]
        return "\n".join(lines)


def _run_checked(name: str, cells: list[Cell], one: Callable[[Job], tuple[str, str, Result]],
                 server: Any, workers: int, settle_bound: float) -> BatchReport:  # fmt: skip
    # A warm-up login outside the snapshot: lazy imports and caches are no leak.
    refused = _login_problems(server, "before the batch")
    before = Snapshot.take()
    started = time.monotonic()
    with TracebackTrap().installed() as trap, keeps_serving(server) as serving:
        verdicts = run_cells(cells, ("rfc",), (), one, workers)
    report = BatchReport(name, {v.variant: v.results["rfc"] for v in verdicts}, list(trap.found))
    report.leaks = settle(before, settle_bound)
    report.serving = refused + list(serving) + _login_problems(server, "after the batch")
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _login_problems(server: Any, when: str) -> list[str]:
    try:
        normal_session(server)
    except Exception as exc:
        return [f"a normal login {when} failed: {type(exc).__name__}: {exc}"]
    return []


def probe(name: str, cells: list[Cell], one: Callable[[Job], tuple[str, str, Result]], server: Any,
          workers: int = 8, settle_bound: float = SETTLE_BOUND) -> BatchReport:  # fmt: skip
    """Run ``cells`` (each through ``one``, as run_cells calls it, against the ``rfc``
    reference) in parallel with the four checks; on a problem, find the cells that cause it."""
    report = _run_checked(name, cells, one, server, workers, settle_bound)
    if report.problems and len(cells) > 1:
        for cell in cells:
            alone = _run_checked(cell[1], [cell], one, server, 1, settle_bound)
            if alone.problems:
                report.culprits[cell[1]] = alone.problems
    return report
