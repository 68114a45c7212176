"""`harness serve`: a ready SSH server on our own stack.

Runs commands with the system shell (exec and shell, with a pty when asked), serves the sftp
subsystem through OpenSSH's sftp-server binary when one is installed, authenticates by password
and/or an authorized_keys file, and forwards ports to and from loopback only. Used by the
client-interop tests (real ssh, dbclient, plink, paramiko, AsyncSSH against us) and useful to
anyone who wants a scriptable SSH server.
"""

from __future__ import annotations

import logging
import os
import pty
import shutil
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.accept import accept_each
from harness.channel import Channel
from harness.server import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_SUCCEEDED,
    InteractiveQuery,
    ServerInterface,
    SubsystemHandler,
)

log = logging.getLogger("harness.serve")

SFTP_SERVER_PATHS = ("/usr/lib/openssh/sftp-server", "/usr/lib/sftp-server", "/usr/libexec/sftp-server")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Bytes read from a local process or socket per channel write.
PUMP_CHUNK = 32768
# How long a command's thread waits for a Dropbear client's CHANNEL_CLOSE after ours (see
# CommandRunner._wake_dropbear_client): a client may still be writing out what we sent, but a
# thread must not wait forever; the wait also ends as soon as the connection does.
DROPBEAR_CLOSE_WAIT = 3600.0
# Past connections a Listener remembers for inspection (Listener.served): enough for a test
# module's connections, small enough that a long-running server's memory stays flat.
SERVED_HISTORY = 64


def find_sftp_server() -> str | None:
    for path in SFTP_SERVER_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


@dataclass
class ServeConfig:
    username: str
    password: str | None = None
    authorized_keys: list[Any] = field(default_factory=list)  # PublicKey objects
    shell: str = "/bin/sh"
    cwd: str | None = None
    env: dict[str, str] | None = None
    allow_forwarding: bool = True
    # Offer every algorithm we implement (legacy ones included), for interop testing.
    all_algorithms: bool = False
    # Per-category offer overrides by security-option name (kex, key_types, ciphers, digests,
    # compression), applied after all_algorithms. Why: a client that cannot be told which
    # algorithm to use (plink has no per-connection option for MACs) still has to negotiate the
    # one algorithm we offer, so restricting our side tests that client algorithm by algorithm.
    algorithms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Re-exchange keys after this many bytes in either direction (None: the core's 1 GiB). Why:
    # with a small limit *our* server starts re-exchanges in the middle of a transfer, whatever
    # the client's own rekey policy is (paramiko, plink and dbclient would not rekey in 64 MiB).
    rekey_bytes: int | None = None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    return host.startswith("127.")


def pump_output(read: Callable[[int], bytes], send_all: Callable[[bytes], None]) -> bool:
    """Copy until EOF (b"") or an error from ``read`` to ``send_all``.

    Returns False when sending failed (channel closed, or the client's window stayed shut past
    the channel timeout): the caller must then stop the program rather than leave it blocked
    on a pipe nobody reads.
    """
    while True:
        try:
            data = read(PUMP_CHUNK)
        except OSError:
            return True
        if not data:
            return True
        try:
            send_all(data)
        except Exception as exc:
            log.warning("stopped copying program output to the channel: %s", exc)
            return False


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Close our ends of a finished program's pipes (a long-running server must not leak them)."""
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass


class CommandRunner:
    """Runs one command (or the shell) for one channel, with or without a pty."""

    def __init__(self, channel: Channel, config: ServeConfig, command: bytes | None, pty_size: tuple[int, int] | None,
                 env: dict[str, str]) -> None:  # fmt: skip
        self.channel = channel
        self.config = config
        self.command = command
        self.pty_size = pty_size
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.master: int | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"exec-{self.channel.chanid}", daemon=True).start()

    def _argv(self) -> list[str]:
        if self.command is None:
            return [self.config.shell, "-i"] if self.pty_size else [self.config.shell]
        return [self.config.shell, "-c", self.command.decode("utf-8", "replace")]

    def _run(self) -> None:
        chan = self.channel
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.config.cwd or os.getcwd(),
               "USER": self.config.username, "LOGNAME": self.config.username, "SHELL": self.config.shell}  # fmt: skip
        env.update(self.config.env or {})
        env.update(self.env)
        try:
            if self.pty_size is not None:
                self._run_pty(env)
            else:
                self._run_pipes(env)
        except Exception as exc:
            log.exception("command failed")
            try:
                chan.sendall_stderr(f"harness serve: {exc}\n".encode())
                chan.send_exit_status(127)
            except Exception:
                pass
        finally:
            chan.close()
            self._wake_dropbear_client()

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

    def _run_pipes(self, env: dict[str, str]) -> None:
        chan = self.channel
        pipe = subprocess.PIPE
        proc = subprocess.Popen(self._argv(), stdin=pipe, stdout=pipe, stderr=pipe, cwd=self.config.cwd, env=env,
                                start_new_session=True)  # fmt: skip
        self.proc = proc
        assert proc.stdin and proc.stdout and proc.stderr
        err_thread = threading.Thread(target=pump_output, args=(proc.stderr.read1, chan.sendall_stderr),
                                      daemon=True)  # fmt: skip
        err_thread.start()
        in_thread = threading.Thread(target=self._feed_stdin, args=(proc.stdin,), daemon=True)
        in_thread.start()
        if not pump_output(proc.stdout.read1, chan.sendall):
            self._kill()
        err_thread.join()
        status = proc.wait()
        _close_pipes(proc)
        self._send_status(status)

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

    def _run_pty(self, env: dict[str, str]) -> None:
        import fcntl
        import struct
        import termios

        chan = self.channel
        master, slave = pty.openpty()
        cols, rows = self.pty_size or (80, 24)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env.setdefault("TERM", "xterm")
        proc = subprocess.Popen(self._argv(), stdin=slave, stdout=slave, stderr=slave, cwd=self.config.cwd, env=env,
                                start_new_session=True)  # fmt: skip
        os.close(slave)
        self.proc, self.master = proc, master
        in_thread = threading.Thread(target=self._feed_pty, args=(master,), daemon=True)
        in_thread.start()
        pump_output(lambda n: os.read(master, n), chan.sendall)
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

    def _kill(self) -> None:
        import signal as sig

        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig.SIGKILL)
            except OSError:
                pass

    def resize(self, cols: int, rows: int) -> None:
        import fcntl
        import struct
        import termios

        if self.master is not None:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def signal(self, name: str) -> None:
        import signal as sig

        num = getattr(sig, f"SIG{name}", None)
        if self.proc is not None and num is not None:
            os.killpg(self.proc.pid, num)

    def _send_status(self, status: int) -> None:
        import signal as sig

        chan = self.channel
        if status < 0:
            try:
                name = sig.Signals(-status).name.removeprefix("SIG")
            except ValueError:
                name = str(-status)
            chan.send_exit_signal(name)
        else:
            chan.send_exit_status(status)
        chan.shutdown_write()


class SFTPSubsystem(SubsystemHandler):
    """The sftp subsystem through OpenSSH's sftp-server binary (stdin/stdout)."""

    def start_subsystem(self, name: str, transport: Any, channel: Channel) -> None:
        server = self.get_server()
        assert isinstance(server, ShellServer)
        binary = find_sftp_server()
        if binary is None:
            raise RuntimeError("no sftp-server binary installed")
        proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=server.config.cwd)
        runner = CommandRunner(channel, server.config, None, None, {})
        feeder = threading.Thread(target=runner._feed_stdin, args=(proc.stdin,), daemon=True)
        feeder.start()
        assert proc.stdout is not None
        pump_output(proc.stdout.read1, channel.sendall)
        proc.wait()
        _close_pipes(proc)
        channel.shutdown_write()


class ShellServer(ServerInterface):
    """The ServerInterface of `harness serve`."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._pty: dict[int, tuple[int, int]] = {}
        self._env: dict[int, dict[str, str]] = {}
        self._runners: dict[int, CommandRunner] = {}
        self._listeners: dict[tuple[str, int], socket.socket] = {}
        self.transport: Any = None

    # -- authentication ---------------------------------------------------------------------

    def get_allowed_auths(self, username: str) -> str:
        methods = []
        if self.config.authorized_keys:
            methods.append("publickey")
        if self.config.password is not None:
            methods += ["password", "keyboard-interactive"]
        return ",".join(methods)

    def check_auth_password(self, username: str, password: str) -> int:
        ok = self.config.password is not None and (username, password) == (self.config.username, self.config.password)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_auth_publickey(self, username: str, key: Any) -> int:
        ok = username == self.config.username and any(k == key for k in self.config.authorized_keys)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        if self.config.password is None or username != self.config.username:
            return AUTH_FAILED
        query = InteractiveQuery("", "")
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        return AUTH_SUCCESSFUL if responses == [self.config.password] else AUTH_FAILED

    # -- channels -----------------------------------------------------------------------------

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED if kind == "session" else OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel: Channel, term: str, width: int, height: int,
                                  pixelwidth: int, pixelheight: int, modes: bytes) -> bool:  # fmt: skip
        self._pty[channel.chanid] = (width or 80, height or 24)
        self._env.setdefault(channel.chanid, {})["TERM"] = term
        return True

    def check_channel_env_request(self, channel: Channel, name: str, value: str) -> bool:
        self._env.setdefault(channel.chanid, {})[name] = value
        return True

    def _start(self, channel: Channel, command: bytes | None) -> bool:
        if channel.chanid in self._runners:
            return False  # one program per session channel (RFC 4254 6.5)
        runner = CommandRunner(channel, self.config, command, self._pty.get(channel.chanid),
                               self._env.get(channel.chanid, {}))  # fmt: skip
        self._runners[channel.chanid] = runner
        runner.start()
        return True

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        return self._start(channel, command)

    def check_channel_shell_request(self, channel: Channel) -> bool:
        return self._start(channel, None)

    def check_channel_window_change_request(self, channel: Channel, width: int, height: int,
                                            pixelwidth: int, pixelheight: int) -> bool:  # fmt: skip
        runner = self._runners.get(channel.chanid)
        if runner is not None:
            runner.resize(width, height)
        return True

    def check_channel_signal_request(self, channel: Channel, signal: str) -> bool:
        runner = self._runners.get(channel.chanid)
        if runner is None:
            return False
        runner.signal(signal)
        return True

    # -- port forwarding (loopback only) ------------------------------------------------------

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        if not self.config.allow_forwarding:
            return False
        bind = "127.0.0.1" if address in ("", "localhost", "0.0.0.0", "::") else address
        if not _is_loopback(bind):
            return False
        sock = socket.socket()
        try:
            sock.bind((bind, port))
        except OSError:
            sock.close()
            return False
        sock.listen(16)
        actual = sock.getsockname()[1]
        self._listeners[(address, actual)] = sock
        if port != actual:
            self._listeners[(address, port)] = sock
        threading.Thread(target=self._accept_forwarded, args=(sock, address, actual), daemon=True).start()
        return actual

    def cancel_port_forward_request(self, address: str, port: int) -> None:
        sock = self._listeners.pop((address, port), None)
        if sock is not None:
            sock.close()

    def _accept_forwarded(self, listener: socket.socket, address: str, port: int) -> None:
        accept_each(listener, lambda conn, origin: self._forward_out(conn, origin, address, port))

    def _forward_out(self, conn: socket.socket, origin: tuple[str, int], address: str, port: int) -> None:
        try:
            chan = self.transport.open_forwarded_tcpip_channel(origin, (address, port))
        except Exception:
            conn.close()
            return
        bridge(conn, chan)

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:  # fmt: skip
        if not self.config.allow_forwarding or not _is_loopback(destination[0]):
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        try:
            sock = socket.create_connection(destination, timeout=10)
        except OSError:
            return OPEN_FAILED_CONNECT_FAILED
        # The Channel object exists once this returns OPEN_SUCCEEDED; bridge from a thread.
        threading.Thread(target=self._bridge_later, args=(chanid, sock), daemon=True).start()
        return OPEN_SUCCEEDED

    def _bridge_later(self, chanid: int, sock: socket.socket) -> None:
        chan = self.transport._wait_channel(chanid)
        if chan is None:
            sock.close()
            return
        bridge(sock, chan)


def bridge(sock: socket.socket, chan: Channel) -> None:
    """Copy both ways between a TCP socket and a channel until both sides end."""
    chan.settimeout(None)

    def sock_to_chan() -> None:
        pump_output(sock.recv, chan.sendall)
        try:
            chan.shutdown_write()
        except Exception:
            pass

    t = threading.Thread(target=sock_to_chan, daemon=True)
    t.start()
    try:
        while data := chan.recv(65536):
            sock.sendall(data)
    except (OSError, Exception):
        pass
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    t.join(30)
    sock.close()
    chan.close()


def serve_connection(sock: socket.socket, host_keys: list[Any], config: ServeConfig, moduli: str | None = None,
                     track: Callable[[Any], None] | None = None,
                     server_cls: type[ShellServer] | None = None) -> Any:  # fmt: skip
    """Start our server on an accepted socket; returns the Transport (already serving).

    ``track`` sees the Transport before the key exchange starts, so a connection is on record
    even when its client finishes (or fails) before start_server returns to us. ``server_cls``
    replaces the policy (the scenario self-check's reference servers refuse everything).
    """
    from harness.ssh.config import ConnectionConfig
    from harness.transport import Transport

    conn_config = ConnectionConfig()
    if config.rekey_bytes is not None:
        conn_config.rekey_bytes = config.rekey_bytes
    t = Transport(sock, config=conn_config)
    opts = t.get_security_options()
    if config.all_algorithms:
        from harness.crypto_names import ALGORITHM_CATEGORIES

        for category, names in ALGORITHM_CATEGORIES.items():
            setattr(opts, category, names)
    for category, names in config.algorithms.items():
        setattr(opts, category, names)
    for key in host_keys:
        t.add_server_key(key)
    t.load_server_moduli(moduli)
    t.set_subsystem_handler("sftp", SFTPSubsystem)
    server = (server_cls or ShellServer)(config)
    server.transport = t
    if track is not None:
        track(t)
    t.start_server(server=server)
    return t


class Listener:
    """Accept loop for `harness serve` and the tests (127.0.0.1 by default, port 0 = any)."""

    def __init__(self, host_keys: list[Any], config: ServeConfig, host: str = "127.0.0.1", port: int = 0,
                 moduli: str | None = None) -> None:  # fmt: skip
        self.host_keys = host_keys
        self.config = config
        self.moduli = moduli
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.address = self.sock.getsockname()[:2]
        self.transports: list[Any] = []
        # Every connection served, newest last, closed ones included (bounded: a long-running
        # server must not keep them all). Why: tests read from the server side what happened on
        # a client's connection after the client has gone (key exchanges, negotiated algorithms).
        self.served: deque[Any] = deque(maxlen=SERVED_HISTORY)
        self._accepted = 0  # connections ever tracked; marks index into `served` by this count
        self._served_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="serve-accept", daemon=True)
        self.server_cls: type[ShellServer] | None = None  # None: ShellServer

    def start(self) -> Listener:
        self._thread.start()
        return self

    def _run(self) -> None:
        accept_each(self.sock, self._one)

    def _one(self, conn: socket.socket, origin: Any) -> None:
        try:
            transport = serve_connection(conn, self.host_keys, self.config, self.moduli, self._track,
                                         self.server_cls)  # fmt: skip
            # Keep only live connections: a long-running server must not hold every past one.
            self.transports = [t for t in self.transports if t.is_active()] + [transport]
        except Exception as exc:
            log.info("connection ended during setup: %s", exc)

    def _track(self, transport: Any) -> None:
        with self._served_lock:
            self._accepted += 1
            self.served.append(transport)

    def mark(self) -> int:
        """A position in the connection history, for ``served_since``."""
        with self._served_lock:
            return self._accepted

    def served_since(self, mark: int) -> list[Any]:
        """The connections accepted after ``mark`` (oldest first; at most SERVED_HISTORY).

        Why: a test runs a client, then asks the server what that client's connections did.
        """
        with self._served_lock:
            count = min(self._accepted - mark, len(self.served))
            return list(self.served)[len(self.served) - count :] if count > 0 else []

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.sock.close()
        if self._thread.is_alive():
            self._thread.join(5.0)
        for t in self.transports:
            t.close()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def key_exchanges(transport: Any) -> int:
    """Completed key exchanges on one of our connections, the first included (rekeys = this - 1).

    Counted by the transport from the core's KexComplete events, whichever side started them, so
    a test can tell from the server side that a client really went through re-exchanges.
    """
    return transport.key_exchanges


def load_authorized_keys(path: str | Path) -> list[Any]:
    from harness.ssh.keys import parse_public_key_line

    keys = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(parse_public_key_line(line))
    return keys


def default_shell() -> str:
    return shutil.which("sh") or "/bin/sh"
