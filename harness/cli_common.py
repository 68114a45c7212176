"""What every `harness` command shares: one-line user errors, peer id checks, signals, child processes.

Why one place: a user who mistypes a peer id, gives a port that is taken or lacks an optional
dependency should read one line that says what to do, never a traceback; and a run stopped with
Ctrl-C or SIGTERM must still stop its containers and remove its key folders. The top-level
handler in :mod:`harness.cli` turns :class:`UserError` (and the environment errors it knows)
into ``harness: error: ...`` with exit status 2.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import IO

EXIT_USAGE = 2  # argparse's status for a usage error; every user error uses it
EXIT_INTERRUPTED = 128 + signal.SIGINT  # what a shell reports for a process ended by Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM
# A child (pytest running the scenario matrix) gets this long to stop its containers after an
# interrupt before it is killed: stopping a container takes the engine about a second each.
CHILD_CLEANUP_SECONDS = 60.0


class UserError(Exception):
    """A mistake in how a command was called, or a missing prerequisite: printed as one line, exit 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that every ``finally`` and atexit hook runs."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def split_ids(values: Sequence[str] | None) -> list[str]:
    """Repeatable options that also take comma-separated lists: ``--peer a,b --peer c`` -> [a, b, c]."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def check_ids(ids: Sequence[str], known: Sequence[str], what: str, listing: str) -> None:
    """Raise UserError for the first id not in ``known``, with a did-you-mean and where to look."""
    for item in ids:
        if item not in known:
            raise UserError(f"unknown {what} {item!r}{did_you_mean(item, known)}; {listing}")


def require_extra(module: str, extra: str, purpose: str) -> None:
    """Fail with the install command when an optional dependency of ``purpose`` is missing."""
    if importlib.util.find_spec(module) is None:
        raise UserError(f"{purpose} needs {module}, which is not installed: pip install 'ssh-harness[{extra}]'")


_terminated = False


def terminated() -> bool:
    """Whether SIGTERM arrived (the interrupt the handler sees is then a :class:`Terminated`)."""
    return _terminated


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    if _terminated:
        return  # already unwinding: a second SIGTERM must not interrupt the cleanup
    _terminated = True
    raise Terminated()


def install_signal_handlers() -> Callable[[], None]:
    """Make SIGTERM unwind the main thread like Ctrl-C (finally blocks and atexit hooks run).

    Without it Python dies at once on SIGTERM: peer containers keep running and the temporary
    folders that hold private keys stay behind. SIGINT gets Python's handler even when it was
    inherited as ignored (a shell's background job): our interrupt of a child (:func:`run_child`)
    must not land on a child that ignores it, and a caught signal is reset to default by exec.
    Returns what restores the previous handlers (``main()`` called in-process, e.g. by a test).
    Outside the main thread, where Python allows no handlers, it changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    global _terminated
    _terminated = False
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    return restore


def run_child(argv: Sequence[str], cwd: str | os.PathLike[str] | None = None, stderr: IO[bytes] | None = None,
              env: dict[str, str] | None = None) -> int:
    """Run a child process to its end; on Ctrl-C or SIGTERM, interrupt it once and let it clean up.

    The child runs in its own process group, so the terminal's Ctrl-C reaches only us and the
    child receives exactly one SIGINT (a second one would cut its own cleanup short). It then has
    :data:`CHILD_CLEANUP_SECONDS` to stop its containers before it is killed.
    """
    proc = subprocess.Popen(list(argv), cwd=cwd, stderr=stderr, env=env, start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        _interrupt_group(proc, signal.SIGINT)
        try:
            proc.wait(timeout=CHILD_CLEANUP_SECONDS)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            _interrupt_group(proc, signal.SIGKILL)
            proc.wait()
            print(f"harness: {argv[0]} did not stop in time and was killed; `harness peers stop` removes "
                  "the peer containers it left", file=sys.stderr)  # fmt: skip
        raise
    except BaseException:
        _interrupt_group(proc, signal.SIGKILL)
        proc.wait()
        raise


def _interrupt_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass


def print_error(message: str) -> None:
    """The one line a user error prints (also used by the argument parser)."""
    print(f"harness: error: {message}", file=sys.stderr, flush=True)
