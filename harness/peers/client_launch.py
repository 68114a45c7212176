"""Run one client peer process, bounded, and say how it ended: :class:`ClientRunReport`.

Why a report and not just an exit code: in a server-role scenario the interesting fact is
often what the client did with our misbehaviour after the connection ended: it exited with an
error (fine), it hung (a bug), it died by SIGSEGV or SIGABRT or printed a sanitizer report (a
crash worth a bug report), or it copied our control characters to the terminal
(:mod:`harness.peers.injection`). The report keeps the argv, the wait status as the kernel gave
it, stdout and stderr (or the terminal's output when the client ran on a pty) and the time.

Processes run in their own session (their own process group), so a hung client and its
children are killed by that group's id, never by name. Container clients run under a wrapper
that records the wait status inside the container (:func:`harness.peers.clients.docker_run_argv`):
the `docker` CLI's own status (128+N) cannot tell a signal from a command's exit status.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import subprocess
import termios
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.peers.injection import Injection

# Output kept per stream: a runaway client must not fill memory; reports quote the tail anyway.
OUTPUT_LIMIT = 1 << 20
# After the kill of a hung client, how long its pipes may take to close.
REAP_TIMEOUT = 10.0
# docker run's own failures (engine error, entrypoint not executable or not found).
DOCKER_FAILURES = {125: "docker could not run the container", 126: "entrypoint not executable",
                   127: "entrypoint not found"}  # fmt: skip
# First line of an ASan/UBSan/MSan report; "runtime error:" is UBSan's.
_SANITIZER = re.compile(r"(==\d+==ERROR: \w+Sanitizer: [^\n]*|SUMMARY: \w+Sanitizer: [^\n]*|"
                        r"[^\s:]+:\d+:\d+: runtime error: [^\n]*)")  # fmt: skip


@dataclass
class ClientRunReport:
    """How one client peer run went; ``target.report()`` after a server-role scenario."""

    peer_id: str
    argv: list[str]
    returncode: int | None = None  # the process's exit status (None: killed by a signal or hung)
    signal: str | None = None  # e.g. "SIGSEGV" when the client died by a signal
    sanitizer: str | None = None  # first line of a sanitizer report in its output
    stdout: str = ""
    stderr: str = ""  # with tty=True: everything the client wrote to its terminal
    tty: bool = False
    hung: bool = False  # no exit within the bound: killed by us (signal then says SIGKILL)
    seconds: float = 0.0
    injections: list[Injection] = field(default_factory=list)
    launch_error: str = ""  # the launcher failed (docker engine), not the client

    @property
    def crashed(self) -> str | None:
        """How the client crashed ("SIGSEGV", "AddressSanitizer: heap-buffer-overflow"), None if it
        did not: a signal we did not send (a hung client's SIGKILL is ours), or a sanitizer report."""
        if self.sanitizer:
            return _short_sanitizer(self.sanitizer)
        return self.signal if self.signal is not None and not self.hung else None

    def outcome(self) -> str:
        """One short phrase, in the outcome model's words."""
        if self.launch_error:
            return f"client not run ({self.launch_error})"
        if self.hung:
            return "client hung (killed)"
        if self.crashed:
            return f"peer crashed ({self.crashed})"
        return f"client exited {self.returncode}"

    def to_json(self) -> dict[str, Any]:
        """Plain data for results.json (injections as dicts), plus the outcome phrase."""
        return {**asdict(self), "crashed": self.crashed, "outcome": self.outcome()}

    def describe(self, tail: int = 600) -> str:
        """outcome, injections and the tail of the output, for transcripts and failure messages."""
        lines = [self.outcome() + f" after {self.seconds:.1f} s"]
        lines += [f"terminal injection: {i.describe()}" for i in self.injections]
        for name, text in (("stdout", self.stdout), ("terminal" if self.tty else "stderr", self.stderr)):
            if text.strip():
                lines.append(f"{name}: {text.strip()[-tail:]}")
        return "\n".join(lines)


class ClientProcess:
    """A started client process whose output is drained in the background until it ends.

    ``tty``: stdin, stdout and stderr are one pseudo-terminal that is the process's
    controlling terminal (for clients that print prompts or banners only to a terminal, and for
    `docker run -t`). Otherwise stdin is /dev/null and stdout/stderr are pipes.
    ``status_file``: where a container wrapper writes "exit N" / "signal N".
    ``kill_argv``: extra command that stops the run when it hangs (e.g. `docker kill NAME`).
    """

    def __init__(self, peer_id: str, argv: list[str], *, env: dict[str, str] | None = None, tty: bool = False,
                 status_file: Path | None = None, kill_argv: list[str] | None = None) -> None:  # fmt: skip
        self.report = ClientRunReport(peer_id, list(argv), tty=tty)
        self.status_file = status_file
        self.kill_argv = kill_argv
        self._buffers: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self._threads: list[threading.Thread] = []
        self._master: int | None = None
        self._started = time.monotonic()
        full_env = {**os.environ, **(env or {})}
        if tty:
            master, slave = pty.openpty()
            self._master = master
            try:
                self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                             start_new_session=True, preexec_fn=_take_terminal)  # fmt: skip
            finally:
                os.close(slave)
            self._drain(master, "stderr")
        else:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=full_env, start_new_session=True)  # fmt: skip
            assert self.proc.stdout is not None and self.proc.stderr is not None
            self._drain(self.proc.stdout.fileno(), "stdout")
            self._drain(self.proc.stderr.fileno(), "stderr")

    def _drain(self, fd: int, name: str) -> None:
        buffer = self._buffers[name]

        def pump() -> None:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's last writer is gone
                    return
                if not chunk:
                    return
                if len(buffer) < OUTPUT_LIMIT:
                    buffer.extend(chunk[: OUTPUT_LIMIT - len(buffer)])

        thread = threading.Thread(target=pump, name=f"client-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def running(self) -> bool:
        return self.proc.poll() is None

    def finish(self, bound: float) -> ClientRunReport:
        """Wait up to ``bound`` seconds for the exit; kill and mark hung if it does not come."""
        report = self.report
        try:
            self.proc.wait(timeout=max(0.0, bound))
        except subprocess.TimeoutExpired:
            report.hung = True
            self._kill()
        for thread in self._threads:
            thread.join(REAP_TIMEOUT)
        if self._master is not None:
            os.close(self._master)
            self._master = None
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        report.seconds = round(time.monotonic() - self._started, 3)
        report.stdout = self._buffers["stdout"].decode("utf-8", "replace")
        report.stderr = self._buffers["stderr"].decode("utf-8", "replace")
        self._classify(self.proc.returncode)
        return report

    def _kill(self) -> None:
        if self.kill_argv:
            try:
                subprocess.run(self.kill_argv, capture_output=True, timeout=REAP_TIMEOUT, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the process we started
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=REAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass

    def _classify(self, returncode: int | None) -> None:
        report = self.report
        status = _read_status(self.status_file)
        if status is not None:  # the in-container wrapper saw the client's own wait status
            kind, number = status
            report.returncode, report.signal = (number, None) if kind == "exit" else (None, _signal_name(number))
        elif self.status_file is not None and returncode in DOCKER_FAILURES and not report.hung:
            report.launch_error = f"{DOCKER_FAILURES[returncode]}: {report.stderr.strip()[-300:]}"
            report.returncode = returncode
        elif returncode is not None and returncode < 0:
            report.signal = _signal_name(-returncode)
        else:
            report.returncode = returncode
        found = _SANITIZER.search(report.stderr) or _SANITIZER.search(report.stdout)
        report.sanitizer = found.group(1).strip() if found else None


def _short_sanitizer(line: str) -> str:
    """"AddressSanitizer: heap-buffer-overflow" from ASan's first line; UBSan's "runtime error: ..."."""
    found = re.search(r"(\w+Sanitizer: [\w-]+)", line)
    if found:
        return found.group(1)
    return "UBSan " + line[line.index("runtime error:"):][:100] if "runtime error:" in line else line[:100]


def _take_terminal() -> None:
    """In the child (a new session leader): make the pty on stdin its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _read_status(path: Path | None) -> tuple[str, int] | None:
    if path is None:
        return None
    try:
        kind, _, number = path.read_text().strip().partition(" ")
    except OSError:
        return None
    if kind in ("exit", "signal") and number.isdigit():
        return kind, int(number)
    return None
