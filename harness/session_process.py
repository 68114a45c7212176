"""The programs `harness serve` runs for session channels, and what happens to them at the end.

One ``CommandRunner`` per session channel runs the client's command, the shell or a subsystem
binary in its own process group (a new session), with pipes or a pty, as the logged-in user
when the server runs as root and that user exists (``LoginUser``), otherwise as the server's
own user. When the connection ends while the program still runs, ``hang_up`` does what sshd's
session teardown amounts to: SIGHUP to the process group, SIGKILL to whatever is left after a
grace period, so nothing the client started outlives its connection, and nothing more is sent
on the dead transport (no exit status, no traceback).
"""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import pwd
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.ssh.errors import SSHException

if TYPE_CHECKING:
    from harness.channel import Channel

log = logging.getLogger("harness.serve")

# Bytes read from a local process or socket per channel write.
PUMP_CHUNK = 32768
# How long a command's thread waits for a Dropbear client's CHANNEL_CLOSE after ours (see
# CommandRunner._wake_dropbear_client): a client may still be writing out what we sent, but a
# thread must not wait forever; the wait also ends as soon as the connection does.
DROPBEAR_CLOSE_WAIT = 3600.0
# Seconds between SIGHUP and SIGKILL when a connection ends under a running program: long enough
# for a program that handles SIGHUP to save its state, short enough that nothing lingers.
DEFAULT_HANGUP_GRACE = 2.0
# How often hang_up looks whether the process group is gone during the grace period.
HANGUP_POLL = 0.05
SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class LoginUser:
    """A local account whose identity the programs of its sessions take (as sshd does)."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str
    shell: str

    @classmethod
    def lookup(cls, name: str) -> LoginUser | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        groups = tuple(os.getgrouplist(name, entry.pw_gid))
        return cls(name, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir, entry.pw_shell or "/bin/sh")

    def popen_identity(self) -> dict[str, Any]:
        """Popen's setgid/initgroups/setuid arguments; none when we cannot switch (not root)."""
        if os.geteuid() != 0:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}

    def working_directory(self) -> str:
        return self.home if os.path.isdir(self.home) else "/"


def login_user_for(username: str) -> tuple[LoginUser | None, str | None]:
    """Whom commands for ``username`` run as, and a warning to show once when it is not them.

    Root switches to the user when the account exists; any other server user can only run
    programs as itself, so only a login under its own name gets that user's environment.
    """
    me = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() != 0:
        if username == me:
            return LoginUser.lookup(me), None
        return None, (f"not started as root: commands of user {username!r} run as {me!r} (uid {os.geteuid()}); "
                      "start as root to run them as the user who logs in")  # fmt: skip
    user = LoginUser.lookup(username)
    if user is None:
        return None, f"no local account {username!r}: its commands run as root"
    return user, None


def pump_output(read: Callable[[int], bytes], send_all: Callable[[bytes], None]) -> BaseException | None:
    """Copy until EOF (b"") or an error from ``read`` to ``send_all``.

    Returns the exception when sending failed (channel closed, connection gone, or the client's
    window stayed shut past the channel timeout): the caller must then stop the program rather
    than leave it blocked on a pipe nobody reads. None when the program's output ended.
    """
    while True:
        try:
            data = read(PUMP_CHUNK)
        except OSError:
            return None
        if not data:
            return None
        try:
            send_all(data)
        except Exception as exc:
            return exc


def close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Close our ends of a finished program's pipes (a long-running server must not leak them)."""
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes in process group ``pgid`` that still run (zombies do not count).

    Why not kill(-pgid, 0): it also succeeds for zombies, and an orphan's zombie waits for PID 1
    to reap it, which in a container may take a while; a zombie holds no resources worth a kill.
    """
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _group_alive(pgid: int) -> bool:
    return bool(live_group_members(pgid))


def _take_terminal() -> None:
    """In the child, after setsid: make stdin, the pty slave, its controlling terminal.

    Why: as under sshd, a shell then has job control, and closing the pty's master (the
    connection's end) hangs up the session through the kernel too. One ioctl and nothing that
    takes a lock, so it is safe in a child forked from a threaded server.
    """
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except OSError:
        pass  # already gone


class CommandRunner:
    """Runs one command (or the shell, or a subsystem binary) for one channel."""

    def __init__(self, channel: Channel, config: Any, command: bytes | None, pty_size: tuple[int, int] | None,
                 env: dict[str, str], program: list[str] | None = None) -> None:  # fmt: skip
        self.channel = channel
        self.config = config  # harness.serve.ServeConfig
        self.command = command
        self.pty_size = pty_size
        self.env = env
        self.program = program  # a subsystem binary: run as is, no exit status
        self.proc: subprocess.Popen[bytes] | None = None
        self.master: int | None = None
        self.hung_up = False

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"exec-{self.channel.chanid}", daemon=True).start()

    # -- the program's identity and environment ------------------------------------------------

    def _argv(self) -> list[str]:
        if self.program is not None:
            return self.program
        if self.command is None:
            return [self.config.shell, "-i"] if self.pty_size else [self.config.shell]
        return [self.config.shell, "-c", self.command.decode("utf-8", "replace")]

    def _environment(self) -> dict[str, str]:
        login: LoginUser | None = self.config.login_user
        if login is not None:
            env = {"PATH": SEARCH_PATH, "HOME": login.home, "USER": login.name, "LOGNAME": login.name,
                   "SHELL": login.shell}  # fmt: skip
        else:
            env = {"PATH": SEARCH_PATH, "HOME": self.config.cwd or os.getcwd(), "USER": self.config.username,
                   "LOGNAME": self.config.username, "SHELL": self.config.shell}  # fmt: skip
        env.update(self.config.env or {})
        env.update(self.env)
        return env

    def _popen(self, **kwargs: Any) -> subprocess.Popen[bytes]:
        login: LoginUser | None = self.config.login_user
        cwd = self.config.cwd or (login.working_directory() if login is not None else None)
        identity = login.popen_identity() if login is not None else {}
        return subprocess.Popen(self._argv(), cwd=cwd, env=self._environment(), start_new_session=True,
                                **identity, **kwargs)  # fmt: skip

    # -- running -------------------------------------------------------------------------------

    def _connection_alive(self) -> bool:
        return self.channel.transport.is_active() and not self.hung_up

    def _run(self) -> None:
        chan = self.channel
        try:
            if self.pty_size is not None:
                self._run_pty()
            else:
                self._run_pipes()
        except Exception as exc:
            if self._connection_alive():
                log.warning("channel %d: %s failed: %s", chan.chanid, self._argv()[0], exc)
                try:
                    chan.sendall_stderr(f"harness serve: {exc}\n".encode())
                    chan.send_exit_status(127)
                except (SSHException, OSError):
                    pass
        finally:
            try:
                chan.close()
            except (SSHException, OSError):
                pass  # the connection ended meanwhile
            self._wake_dropbear_client()

    def run_subsystem(self) -> None:
        """Serve a subsystem binary on this channel (blocks: runs on the subsystem's thread)."""
        proc = self._popen(stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        threading.Thread(target=self._feed_stdin, args=(proc.stdin,), daemon=True).start()
        if pump_output(proc.stdout.read1, self.channel.sendall) is not None:
            self.hang_up(0.0)
        proc.wait()
        close_pipes(proc)
        if self._connection_alive():
            self.channel.shutdown_write()

    def _wake_dropbear_client(self) -> None:
        """Send one SSH_MSG_IGNORE once a Dropbear client has answered our CHANNEL_CLOSE.

        Why: dbclient (2020.81 to 2025.89) asks "no channels left? then exit" before it services
        its channels in each turn of its main loop. When our CLOSE reaches it while it still has
        received data to write to its stdout, it finishes writing in that later step, answers
        CLOSE, removes the channel and goes back to select() with nothing left to wake it: its
        timeout is the 8-hour rekey timer, so the client hangs with all data delivered (seen as
        an intermittent stall of 64 MiB transfers into a slow pipe). Any packet from us wakes it,
        it sees no channels and exits with the command's status. IGNORE is allowed at any time
        (RFC 4253 11.2) and changes nothing else.
        """
        transport = self.channel.transport
        if not (transport.remote_version or "").startswith("SSH-2.0-dropbear"):
            return
        try:
            transport.wait_until(lambda: self.channel.closed, DROPBEAR_CLOSE_WAIT, "the client's CHANNEL_CLOSE")
            transport.send_ignore()
        except Exception as exc:  # the connection ended first: nothing left to wake
            log.debug("no wake-up for the Dropbear client: %s", exc)

    def _run_pipes(self) -> None:
        chan = self.channel
        pipe = subprocess.PIPE
        proc = self._popen(stdin=pipe, stdout=pipe, stderr=pipe)
        self.proc = proc
        assert proc.stdin and proc.stdout and proc.stderr
        errors: list[BaseException | None] = []
        err_thread = threading.Thread(target=lambda: errors.append(pump_output(proc.stderr.read1, chan.sendall_stderr)),
                                      daemon=True)  # fmt: skip
        err_thread.start()
        threading.Thread(target=self._feed_stdin, args=(proc.stdin,), daemon=True).start()
        failure = pump_output(proc.stdout.read1, chan.sendall)
        if failure is not None:
            self._stop_after_send_failure(failure)
        err_thread.join()
        status = proc.wait()
        close_pipes(proc)
        self._send_status(status)

    def _stop_after_send_failure(self, failure: BaseException) -> None:
        """Output can no longer reach the client: stop the program (it would block on a full pipe)."""
        if self._connection_alive():
            log.warning("channel %d: stopped copying program output to the client: %s", self.channel.chanid, failure)
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGKILL)

    def _feed_stdin(self, stdin: Any) -> None:
        chan = self.channel
        chan.settimeout(None)
        try:
            while True:
                data = chan.recv(1 << 20)
                if not data:
                    break
                stdin.write(data)
                stdin.flush()
        except (OSError, Exception):
            pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _run_pty(self) -> None:
        chan = self.channel
        master, slave = pty.openpty()
        cols, rows = self.pty_size or (80, 24)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.env.setdefault("TERM", "xterm")
        try:
            proc = self._popen(stdin=slave, stdout=slave, stderr=slave, preexec_fn=_take_terminal)
        finally:
            os.close(slave)
        self.proc, self.master = proc, master
        threading.Thread(target=self._feed_pty, args=(master,), daemon=True).start()
        failure = pump_output(lambda n: os.read(master, n), chan.sendall)
        if failure is not None:
            self._stop_after_send_failure(failure)
        status = proc.wait()
        os.close(master)
        self._send_status(status)

    def _feed_pty(self, master: int) -> None:
        chan = self.channel
        chan.settimeout(None)
        try:
            while data := chan.recv(65536):
                os.write(master, data)
        except (OSError, Exception):
            pass

    def resize(self, cols: int, rows: int) -> None:
        if self.master is not None:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def signal(self, name: str) -> None:
        """Deliver a client's "signal" request (RFC 4254 6.9) to the program's process group."""
        num = signal.Signals.__members__.get(f"SIG{name}")  # a lookup, never getattr on a peer's name
        if self.proc is not None and num is not None:
            _signal_group(self.proc.pid, num)

    def _send_status(self, status: int) -> None:
        """Report how the program ended (RFC 4254 6.10) unless the connection is gone."""
        if not self._connection_alive() or self.channel.closed:
            return
        chan = self.channel
        try:
            if status < 0:
                try:
                    name = signal.Signals(-status).name.removeprefix("SIG")
                except ValueError:
                    name = str(-status)
                chan.send_exit_signal(name)
            else:
                chan.send_exit_status(status)
            chan.shutdown_write()
        except (SSHException, OSError) as exc:  # the connection ended just now
            log.debug("channel %d: exit status not sent: %s", chan.chanid, exc)

    # -- the end of the connection -------------------------------------------------------------

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def hang_up(self, grace: float) -> bool:
        """SIGHUP the program's process group; SIGKILL what is left of it after ``grace`` seconds.

        Returns whether the program was still running. The SIGKILL comes from a thread of its
        own, so ending many sessions at once takes one grace period, not one each.
        """
        self.hung_up = True
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return False
        pgid = proc.pid  # start_new_session: the program leads its own process group
        _signal_group(pgid, signal.SIGHUP)
        threading.Thread(target=self._kill_after, args=(pgid, grace), name=f"hangup-{pgid}", daemon=True).start()
        return True

    @staticmethod
    def _kill_after(pgid: int, grace: float) -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(HANGUP_POLL)
        if _group_alive(pgid):
            log.info("process group %d outlived SIGHUP by %.1f s: SIGKILL", pgid, grace)
            _signal_group(pgid, signal.SIGKILL)
