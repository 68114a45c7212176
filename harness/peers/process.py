"""Run the locally installed OpenSSH ``sshd`` and Dropbear ``dropbear`` as foreground processes.

Why this shape:

* Each start gets its own workdir (config, fresh host keys, pid file, log, known_hosts) and its
  own view of the test user's home: the server runs under ``unshare --mount`` with a per-run home
  bind-mounted over the user's, so ``~/.ssh/authorized_keys`` (Dropbear cannot be told another
  path), files written over SFTP and shell side effects are private to the run. Parallel tests
  (pytest-xdist) never collide and the user's real home is never modified. The workdir itself
  need not be reachable by the unprivileged user (pytest's tmp dirs are 0700): a bind mount only
  needs the mount point to be reachable.
* Ready means "a listener owned by our process answered with an ``SSH-`` line", never a sleep.
  Owning the listener is checked through /proc so a port race with another server cannot make us
  talk to the wrong peer; a lost race (bind failure) is retried on a new port.
* What the peer offers is asked from the peer (its KEXINIT via :mod:`harness.peers.probe`).
* The server is also the init of its own PID namespace (``unshare --pid --kill-child``), so
  ``stop()`` takes down everything it started: sshd's per-connection children call setsid and
  outlive their parent, so neither a process group nor a /proc walk is reliable, while the
  kernel kills every process of a PID namespace when its init exits. An atexit hook stops what
  tests forgot.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from harness.peers.base import (
    LOOPBACK,
    TOOL_TIMEOUT,
    LiveServers,
    PeerError,
    PeerInfo,
    PeerStartError,
    authorized_keys_text,
    client_keys,
    generate_openssh_key,
    make_peer_id,
    parse_software_version,
    pick_free_port,
    run_tool,
    tail,
    wait_all,
    write_known_hosts,
)
from harness.peers.probe import ProbeError, read_server_identification, read_server_kexinit
from harness.peers.testuser import TEST_PASSWORD, TEST_USER, ensure_test_user

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
DROPBEAR = "/usr/sbin/dropbear"
DROPBEARKEY = "/usr/bin/dropbearkey"
UNSHARE = "/usr/bin/unshare"
# sshd's privilege-separation chroot; Debian creates it at boot (systemd), which we do not have.
PRIVSEP_DIR = Path("/run/sshd")

# Lost port races are rare (the kernel hands out port-0 ports spread over the ephemeral range);
# five tries make a failure from that cause practically impossible.
START_ATTEMPTS = 5
# Readiness polling: short enough that a start costs ~ the server's own start-up time.
POLL_INTERVAL = 0.02
# One readiness probe may wait this long for the banner before we look at the process again.
PROBE_TIMEOUT = 2.0
# Graceful shutdown budget before SIGKILL (sshd/dropbear exit at once on SIGTERM).
STOP_TIMEOUT = 5.0

SshdConfigValue = str | Sequence[str] | None


# --------------------------------------------------------------------------------------------
# The handle


class ProcessServer:
    """A running server process: ``info`` to connect, ``logs()`` for failures, ``stop()`` to end.

    Usable as a context manager; ``stop()`` is idempotent and also runs at interpreter exit.
    """

    def __init__(self, info: PeerInfo, proc: subprocess.Popen[bytes], server_pid: int,
                 cleanup_dirs: Sequence[Path] = ()) -> None:
        self.info = info
        self._proc = proc  # the unshare wrapper; the server is its only child
        self._server_pid = server_pid
        self._pid_namespace = _pid_namespace(server_pid)
        self._cleanup_dirs = tuple(cleanup_dirs)
        self._lock = threading.Lock()
        self._stopped = False
        self._final_logs: str | None = None
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        """The server's pid as seen from here (it is pid 1 inside its own namespace)."""
        return self._server_pid

    @property
    def pid_namespace(self) -> str:
        """``pid:[inode]`` of the server's PID namespace: every process it started is in it."""
        return self._pid_namespace

    @property
    def running(self) -> bool:
        return not self._stopped and self._proc.poll() is None

    def logs(self) -> str:
        """The server's stderr/log so far (also after stop, for attaching to failure reports)."""
        if self._final_logs is not None:
            return self._final_logs
        return _read_text(self.info.log_path)

    def stop(self) -> None:
        """Terminate the server and every process it started; safe to call more than once."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            terminate_server(self._proc, self._server_pid, STOP_TIMEOUT)
        finally:
            _LIVE.discard(self)
            if self._cleanup_dirs:
                self._final_logs = _read_text(self.info.log_path)
                for directory in self._cleanup_dirs:
                    shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> ProcessServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ProcessServer {self.info.peer_id} {self.info.host}:{self.info.port} pid={self.pid} {state}>"


_LIVE = LiveServers()


# --------------------------------------------------------------------------------------------
# OpenSSH


def _usable(names: Sequence[str]) -> tuple[str, ...]:
    """Drop algorithms that need certificates or a hardware token (sk-/webauthn): no test key
    material exists for them, and listing them would only make the config claim what it can't do."""
    return tuple(n for n in names if "-cert-" not in n and not n.startswith(("sk-", "webauthn-")))


@functools.cache
def openssh_supported_algorithms(ssh: str = SSH) -> dict[str, tuple[str, ...]]:
    """What this OpenSSH build knows (``ssh -Q``), keyed ``supported_*``; ssh and sshd share it."""
    queries = {
        "supported_kex": "kex",
        "supported_cipher": "cipher",
        "supported_mac": "mac",
        "supported_key": "key",
        "supported_host_key": "HostKeyAlgorithms",
        "supported_pubkey": "PubkeyAcceptedAlgorithms",
        "supported_compression": "compression",
    }
    return {key: tuple(run_tool([ssh, "-Q", q]).split()) for key, q in queries.items()}


def _openssh_host_key_specs(supported: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    specs: dict[str, tuple[str, ...]] = {
        "ed25519": ("-t", "ed25519"),
        "ecdsa-256": ("-t", "ecdsa", "-b", "256"),
        "ecdsa-384": ("-t", "ecdsa", "-b", "384"),
        "ecdsa-521": ("-t", "ecdsa", "-b", "521"),
        "rsa": ("-t", "rsa", "-b", "3072"),
    }
    if "ssh-dss" in supported["supported_key"]:  # removed from OpenSSH 10, present in 9.x
        specs["dsa"] = ("-t", "dsa")
    return specs


def openssh_config(port: int, host_keys: Sequence[Path], pid_file: Path,
                   supported: Mapping[str, tuple[str, ...]],
                   extra: Mapping[str, SshdConfigValue] | None = None) -> str:
    """sshd_config text: everything the build supports enabled, the test user only.

    ``extra`` overrides options by name (case-insensitive; sshd takes the first value it sees, so
    overriding must replace, not append); a sequence gives a repeated option, None removes it.
    """
    options: dict[str, tuple[str, list[str]]] = {}

    def put(name: str, *values: str) -> None:
        options[name.lower()] = (name, list(values))

    put("ListenAddress", f"{LOOPBACK}:{port}")
    put("HostKey", *(str(k) for k in host_keys))
    put("PidFile", str(pid_file))
    # Relative to the home, which is the per-run home bind-mounted over the user's.
    put("AuthorizedKeysFile", ".ssh/authorized_keys")
    put("StrictModes", "no")
    put("PubkeyAuthentication", "yes")
    put("PasswordAuthentication", "yes")
    put("KbdInteractiveAuthentication", "yes")
    put("PermitEmptyPasswords", "no")
    # PAM on: with UsePAM no, sshd 9.2 checks passwords against /etc/shadow itself, but
    # keyboard-interactive has no back end on Linux (no BSD auth/S/Key): it is still advertised
    # yet always fails. With PAM (Debian's pam_unix) both password and keyboard-interactive work,
    # at no measurable cost per login. Scenarios can set {"UsePAM": "no"} to see the other case.
    put("UsePAM", "yes")
    put("PermitRootLogin", "no")
    put("AllowUsers", TEST_USER)
    put("MaxAuthTries", "10")
    # Probes and scenarios open many unauthenticated connections at once; the default 10:30:100
    # would randomly drop them.
    put("MaxStartups", "100")
    put("Subsystem", "sftp internal-sftp")
    put("LogLevel", "DEBUG1")
    put("UseDNS", "no")
    put("PrintMotd", "no")
    put("PrintLastLog", "no")
    put("X11Forwarding", "no")
    put("Compression", "yes")
    put("KexAlgorithms", ",".join(_usable(supported["supported_kex"])))
    put("Ciphers", ",".join(_usable(supported["supported_cipher"])))
    put("MACs", ",".join(_usable(supported["supported_mac"])))
    put("HostKeyAlgorithms", ",".join(_usable(supported["supported_host_key"])))
    put("PubkeyAcceptedAlgorithms", ",".join(_usable(supported["supported_pubkey"])))
    for name, value in (extra or {}).items():
        if name.lower() == "match":
            raise ValueError("Match blocks are not supported in extra_config")
        if value is None:
            options.pop(name.lower(), None)
        elif isinstance(value, str):
            put(name, value)
        else:
            put(name, *value)
    lines = ["# generated by harness.peers.process; do not edit"]
    lines += [f"{name} {value}" for name, values in options.values() for value in values]
    return "\n".join(lines) + "\n"


def start_openssh_server(workdir: Path | None = None, *, timeout: float = 10.0,
                         extra_config: Mapping[str, SshdConfigValue] | None = None,
                         sshd: str = SSHD, ssh: str = SSH) -> ProcessServer:
    """Start ``sshd -D -e`` on a free loopback port; returns once it sent its banner.

    ``workdir`` None makes a temp dir that ``stop()`` removes (logs stay readable via ``logs()``).
    ``ssh`` is the client of the same build, asked (``ssh -Q``) which algorithms the build knows.
    """
    deadline = time.monotonic() + timeout
    entry = ensure_test_user()
    workdir, cleanup = _make_workdir(workdir, "openssh")
    supported = openssh_supported_algorithms(ssh)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)

    keydir = workdir / "hostkeys"
    keydir.mkdir(exist_ok=True)
    specs = _openssh_host_key_specs(supported)
    private = {name: keydir / f"ssh_host_{name.replace('-', '_')}_key" for name in specs}
    for path in private.values():
        path.unlink(missing_ok=True)
    wait_all({n: generate_openssh_key(private[n], specs[n]) for n in specs}, "sshd host keys")
    pubkeys = {name: Path(f"{path}.pub") for name, path in private.items()}

    home = _prepare_home(workdir / "home", entry)
    config = workdir / "sshd_config"
    pid_file = workdir / "sshd.pid"

    def argv_for(port: int) -> list[str]:
        config.write_text(openssh_config(port, list(private.values()), pid_file, supported, extra_config))
        return [sshd, "-D", "-e", "-f", str(config)]

    return _launch(
        "openssh", argv_for, workdir, workdir / "sshd.log", home, entry, deadline, pubkeys, cleanup,
        supported=supported,
        extra={"binary": sshd, "config": str(config), "launcher": "process",
               "auth_methods": "publickey,password,keyboard-interactive"},
    )


# --------------------------------------------------------------------------------------------
# Dropbear


# dropbearkey arguments per host key name (names as in PeerInfo.host_public_keys).
DROPBEAR_HOST_KEY_SPECS: dict[str, tuple[str, ...]] = {
    "ed25519": ("-t", "ed25519"),
    "ecdsa-256": ("-t", "ecdsa", "-s", "256"),
    "ecdsa-384": ("-t", "ecdsa", "-s", "384"),
    "ecdsa-521": ("-t", "ecdsa", "-s", "521"),
    "rsa": ("-t", "rsa", "-s", "2048"),  # dropbearkey's default size; 3072 triples start time
    "dsa": ("-t", "dss"),
}
# Dropbear refuses more than 4 -r options ("Too many hostkeys", MAX_HOSTKEYS in 2022.83), so
# the default is one key per algorithm family; pass host_key_types to pick other ECDSA curves.
# RSA must stay: 2022.83 offers rsa-sha2-256/ssh-rsa even without an RSA key and then fails an
# assertion (rsa.c:164) when a client picks it.
DEFAULT_DROPBEAR_HOST_KEYS = ("ed25519", "ecdsa-256", "rsa", "dsa")
# dss support is a build option that newer Dropbear releases drop: skipped if dropbearkey refuses.
_OPTIONAL_DROPBEAR_KEYS = frozenset({"dsa"})


def _dropbear_host_keys(keydir: Path, names: Sequence[str]) -> dict[str, Path]:
    """Generate Dropbear host keys concurrently; returns name -> private key file."""
    procs: dict[str, subprocess.Popen[str]] = {}
    paths: dict[str, Path] = {}
    for name in names:
        path = keydir / f"dropbear_{name.replace('-', '_')}_host_key"
        path.unlink(missing_ok=True)
        paths[name] = path
        procs[name] = subprocess.Popen([DROPBEARKEY, *DROPBEAR_HOST_KEY_SPECS[name], "-f", str(path)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    made: dict[str, Path] = {}
    errors = []
    for name, proc in procs.items():
        try:
            _, err = proc.communicate(timeout=TOOL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            err = "timed out"
        if proc.returncode == 0:
            made[name] = paths[name]
        elif name not in _OPTIONAL_DROPBEAR_KEYS:
            errors.append(f"{name}: {err.strip()}")
    if errors:
        raise PeerError("dropbearkey failed: " + "; ".join(errors))
    return made


def _dropbear_public_key(key: Path) -> Path:
    """Write ``key.pub`` in OpenSSH format from ``dropbearkey -y`` (for known_hosts)."""
    out = run_tool([DROPBEARKEY, "-y", "-f", str(key)])
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and (parts[0].startswith(("ssh-", "ecdsa-", "rsa-"))):
            pub = Path(f"{key}.pub")
            pub.write_text(f"{parts[0]} {parts[1]} harness-{key.name}\n")
            return pub
    raise PeerError(f"no public key line in dropbearkey -y output for {key}: {out!r}")


def start_dropbear_server(workdir: Path | None = None, *, timeout: float = 10.0,
                          extra_args: Sequence[str] = (),
                          host_key_types: Sequence[str] = DEFAULT_DROPBEAR_HOST_KEYS,
                          dropbear: str = DROPBEAR) -> ProcessServer:
    """Start ``dropbear -F -E`` on a free loopback port; returns once it sent its banner.

    Password logins stay on (scenarios test them), root logins are refused (-w), blank passwords
    are not allowed (no -B). ``extra_args`` are appended to the command line; ``host_key_types``
    picks at most four names of :data:`DROPBEAR_HOST_KEY_SPECS`.
    """
    unknown = [n for n in host_key_types if n not in DROPBEAR_HOST_KEY_SPECS]
    if unknown or not 1 <= len(host_key_types) <= 4:
        raise ValueError(f"host_key_types must be 1-4 of {sorted(DROPBEAR_HOST_KEY_SPECS)}: {host_key_types!r}")
    deadline = time.monotonic() + timeout
    entry = ensure_test_user()
    workdir, cleanup = _make_workdir(workdir, "dropbear")
    keydir = workdir / "hostkeys"
    keydir.mkdir(exist_ok=True)
    private = _dropbear_host_keys(keydir, host_key_types)
    pubkeys = {name: _dropbear_public_key(path) for name, path in private.items()}
    home = _prepare_home(workdir / "home", entry)
    pid_file = workdir / "dropbear.pid"

    def argv_for(port: int) -> list[str]:
        keys = [arg for path in private.values() for arg in ("-r", str(path))]
        return [dropbear, "-F", "-E", "-w", "-p", f"{LOOPBACK}:{port}", "-P", str(pid_file), *keys,
                *extra_args]

    return _launch(
        "dropbear", argv_for, workdir, workdir / "dropbear.log", home, entry, deadline, pubkeys, cleanup,
        supported=None,
        # Dropbear's server has no keyboard-interactive at all (it answers with publickey,password).
        extra={"binary": dropbear, "launcher": "process", "auth_methods": "publickey,password"},
    )


# --------------------------------------------------------------------------------------------
# Shared start-up machinery


def _make_workdir(workdir: Path | None, product: str) -> tuple[Path, list[Path]]:
    if workdir is None:
        path = Path(tempfile.mkdtemp(prefix=f"harness-{product}-"))
        return path, [path]
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir.resolve(), []


def _prepare_home(home: Path, entry: pwd.struct_passwd) -> Path:
    """A fresh per-run home for the test user with ~/.ssh/authorized_keys for every client key.

    Ownership and modes are what both servers demand (not group/world-writable, owned by the user).
    """
    if home.exists():
        shutil.rmtree(home)
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(parents=True)
    auth = ssh_dir / "authorized_keys"
    auth.write_text(authorized_keys_text(client_keys()))
    for path, mode in ((home, 0o755), (ssh_dir, 0o700), (auth, 0o600)):
        os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(path, mode)
    return home


def _private_home_argv(home: Path, real_home: str, argv: Sequence[str]) -> list[str]:
    """Wrap ``argv`` so it runs in a private mount namespace with ``home`` over the real home.

    A new PID namespace too: the server (exec'd by the shell) is its init, so when it exits the
    kernel kills every process it started; --kill-child SIGKILLs it if unshare itself is killed.
    """
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return [UNSHARE, "--mount", "--pid", "--kill-child", "--propagation", "private", "--", "/bin/sh", "-c", script,
            "harness-private-home", str(home), real_home, *argv]


class _PortTakenError(Exception):
    """Internal: the server lost the race for its port; retry with another."""


def _launch(product: str, argv_for: Callable[[int], list[str]], workdir: Path, log_path: Path,
            home: Path, entry: pwd.struct_passwd, deadline: float, pubkeys: dict[str, Path],
            cleanup: list[Path], *, supported: Mapping[str, tuple[str, ...]] | None,
            extra: dict[str, str]) -> ProcessServer:
    if not Path(entry.pw_dir).is_dir():
        raise PeerStartError(f"home {entry.pw_dir} of {TEST_USER} is missing (the bind mount needs it)")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
    log_path.write_bytes(b"")
    for attempt in range(1, START_ATTEMPTS + 1):
        port = pick_free_port()
        argv = _private_home_argv(home, entry.pw_dir, argv_for(port))
        with open(log_path, "ab") as log:
            log.write(f"=== harness: attempt {attempt}, port {port}: {' '.join(argv)}\n".encode())
            offset = log.tell()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)
        server_pid: int | None = None
        try:
            server_pid, banner = _wait_ready(proc, port, deadline, log_path, offset)
            algorithms = read_server_kexinit(LOOPBACK, port, max(0.5, deadline - time.monotonic()))
            server = ProcessServer(_peer_info(banner, port, algorithms, supported, workdir, log_path, home,
                                              pubkeys, extra), proc, server_pid, cleanup)
        except _PortTakenError:
            terminate_server(proc, server_pid, STOP_TIMEOUT)
            continue
        except BaseException as exc:
            terminate_server(proc, server_pid, STOP_TIMEOUT)
            if isinstance(exc, ProbeError):
                raise PeerStartError(f"{product} answered but its KEXINIT could not be read: {exc}\n"
                                     f"--- log tail ---\n{tail(_read_text(log_path))}") from exc
            raise
        return server
    raise PeerStartError(f"{product}: lost the race for a free port {START_ATTEMPTS} times\n"
                         f"--- log tail ---\n{tail(_read_text(log_path))}")


def _peer_info(banner: str, port: int, algorithms: dict[str, tuple[str, ...]],
               supported: Mapping[str, tuple[str, ...]] | None, workdir: Path, log_path: Path, home: Path,
               pubkeys: dict[str, Path], extra: dict[str, str]) -> PeerInfo:
    if supported:
        algorithms.update(supported)
    product, version = parse_software_version(banner)
    return PeerInfo(
        peer_id=make_peer_id(product, version), product=product, version=version,
        host=LOOPBACK, port=port, banner=banner, username=TEST_USER, password=TEST_PASSWORD,
        host_public_keys=dict(pubkeys), client_keys=client_keys(),
        known_hosts=write_known_hosts(workdir / "known_hosts", LOOPBACK, port, pubkeys),
        algorithms=algorithms, workdir=workdir, log_path=log_path, home=home, extra=extra,
    )


_BIND_FAILURES = ("Address already in use", "Cannot bind any address")


def _wait_ready(proc: subprocess.Popen[bytes], port: int, deadline: float, log_path: Path,
                offset: int) -> tuple[int, str]:
    """Poll until the server (unshare's child) owns the listener and answers with an SSH- line.

    Returns (server pid, identification line).
    """
    last_error = "no listener yet"
    server_pid: int | None = None
    while True:
        code = proc.poll()
        if code is not None:
            attempt_log = _read_bytes(log_path)[offset:].decode("utf-8", "replace")
            if any(msg in attempt_log for msg in _BIND_FAILURES):
                raise _PortTakenError
            raise PeerStartError(f"server exited with status {code} before it was ready\n"
                                 f"--- log tail ---\n{tail(_read_text(log_path))}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PeerStartError(f"server not ready on {LOOPBACK}:{port} within the deadline ({last_error})\n"
                                 f"--- log tail ---\n{tail(_read_text(log_path))}")
        if server_pid is None:
            server_pid = _only_child(proc.pid)
        if server_pid is not None and _owns_listener(server_pid, port):
            try:
                return server_pid, read_server_identification(LOOPBACK, port, min(PROBE_TIMEOUT, remaining))
            except ProbeError as exc:
                last_error = str(exc)
        time.sleep(min(POLL_INTERVAL, max(0.0, remaining)))


def _only_child(pid: int) -> int | None:
    """The child of ``pid`` (unshare --fork has exactly one), or None if not forked yet."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = [name for name in os.listdir("/proc") if name.isdigit() and _ppid(int(name)) == pid]
    return int(children[0]) if children else None


def _ppid(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def _owns_listener(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a TCP socket listening on ``port`` (from /proc/net/tcp)."""
    inodes = set()
    try:
        with open("/proc/net/tcp") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
        if not inodes:
            return False
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _read_text(path: Path) -> str:
    """A log as text; sshd ends stderr lines with CR LF (-e), normalised here for readable reports."""
    return _read_bytes(path).decode("utf-8", "replace").replace("\r\n", "\n")


# --------------------------------------------------------------------------------------------
# Stopping


def _pid_namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def processes_in_namespace(namespace: str) -> list[int]:
    """Live (non-zombie) processes of a PID namespace, e.g. to check that nothing outlived stop()."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _pid_namespace(int(name)) == namespace:
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            if stat[stat.rindex(")") + 2 :].split()[0] != "Z":
                found.append(int(name))
    return found


def terminate_server(proc: subprocess.Popen[bytes], server_pid: int | None, timeout: float) -> None:
    """SIGTERM the server (its namespace dies with it), SIGKILL the wrapper after ``timeout``.

    Killing unshare makes --kill-child SIGKILL the server, which again takes the namespace down.
    """
    if proc.poll() is None and server_pid is not None and _ppid(server_pid) == proc.pid:
        try:
            os.kill(server_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    elif proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
