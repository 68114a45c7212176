"""The user's own peers for one run: ``--target``, ``--client-command`` and ``peers.toml`` together.

Why one object: the scenario plugin, ``harness run`` and ``harness interop`` all need the same
answers ("is NAME one of the user's peers? give me a running handle / a client driver"), and the
same checks up front (a bad URL, key or peers file is one clear message before any test runs).

Servers described by a command or an image are started by the harness (one per process, as the
built-in peers are; restarted when they died) on a loopback port given as ``{port}``; servers
given by URL run elsewhere and are only probed. Either way the handle has ``info``, ``running``,
``logs()`` and ``stop()`` like a built-in peer's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.peers.base import LOOPBACK, PeerError, PeerStartError, pick_free_port, tail
from harness.peers.custom import CommandClient, CommandClientInfo, fill, parse_template, probe_client
from harness.peers.peers_file import (
    DEFAULT_FILE,
    ClientSpec,
    PeersFile,
    ServerSpec,
    load_peers_file,
)
from harness.peers.probe import read_server_kexinit
from harness.peers.target import (
    ExternalServer,
    check_peer_name,
    declared_algorithms,
    describe_server,
    identity_keys,
    missing_credentials,
    needs_control,
    parse_target_url,
)

DEFAULT_TARGET_NAME = "target"
DEFAULT_CLIENT_NAME = "client-command"
# How often a starting server is asked for its KEXINIT until it answers or start_timeout passes.
POLL_INTERVAL = 0.1
# Starts of one server that may fail before every later scenario just repeats the first error.
START_ATTEMPTS = 2
# How long a stopped server gets between SIGTERM and SIGKILL.
STOP_GRACE = 5.0


@dataclass
class StartedServer:
    """A user's server the harness started (a command or a container): stoppable, restartable."""

    info: Any
    stop_process: Any
    is_running: Any
    read_logs: Any

    @property
    def running(self) -> bool:
        return bool(self.is_running())

    def logs(self) -> str:
        return str(self.read_logs())

    def stop(self) -> None:
        self.stop_process()


def _wait_for_kexinit(spec: ServerSpec, port: int, alive: Any, logs: Any) -> None:
    deadline = time.monotonic() + spec.start_timeout
    last = ""
    while time.monotonic() < deadline:
        if not alive():
            raise PeerStartError(f"{spec.name} ({spec.origin}) exited before answering on port {port}\n"
                                 f"--- its output ---\n{tail(logs())}")  # fmt: skip
        try:
            read_server_kexinit(LOOPBACK, port, max(0.5, deadline - time.monotonic()))
            return
        except PeerError as exc:
            last = str(exc)
            time.sleep(POLL_INTERVAL)
    raise PeerStartError(f"{spec.name} ({spec.origin}) did not answer on {LOOPBACK}:{port} within "
                         f"{spec.start_timeout:.0f} s ({last})\n--- its output ---\n{tail(logs())}")  # fmt: skip


def start_command_server(spec: ServerSpec, workdir: Path) -> StartedServer:
    """Run the server's command (own process group, output to a log) and wait for its KEXINIT."""
    port = spec.port or pick_free_port()
    argv = fill(spec.command, {"port": str(port), "host": LOOPBACK, "workdir": str(workdir)})
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(argv, cwd=spec.base_dir, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        except OSError as exc:
            raise PeerStartError(f"{spec.name} ({spec.origin}): cannot run {argv[0]!r}: {exc}") from None

    def stop() -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=STOP_GRACE)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=STOP_GRACE)

    def logs() -> str:
        return log_path.read_text(errors="replace")

    try:
        _wait_for_kexinit(spec, port, lambda: proc.poll() is None, logs)
        info = _describe(spec, port, workdir)
    except BaseException:
        stop()
        raise
    return StartedServer(info, stop, lambda: proc.poll() is None, logs)


def start_image_server(spec: ServerSpec, workdir: Path) -> StartedServer:
    """Run the image with host networking (HARNESS_PORT and {port} say where to listen)."""
    import docker

    from harness.peers.docker import _client, _owner_labels

    port = spec.port or pick_free_port()
    argv = fill(spec.command, {"port": str(port), "host": LOOPBACK, "workdir": str(workdir)}) or None
    try:
        env = {"HARNESS_LISTEN": LOOPBACK, "HARNESS_PORT": str(port)}
        container = _client().containers.run(spec.image, argv, detach=True, network_mode="host", environment=env,
                                             labels=_owner_labels(), name=f"harness-user-{spec.name}-{port}")
    except docker.errors.DockerException as exc:
        raise PeerStartError(f"{spec.name} ({spec.origin}): cannot run image {spec.image}: {exc}") from None

    def alive() -> bool:
        try:
            container.reload()
        except docker.errors.DockerException:
            return False
        return bool(container.status in ("created", "running"))

    def logs() -> str:
        try:
            return bytes(container.logs()).decode(errors="replace")
        except docker.errors.DockerException as exc:
            return f"(container log unavailable: {exc})"

    def stop() -> None:
        try:
            container.remove(force=True)
        except docker.errors.DockerException:
            pass

    try:
        _wait_for_kexinit(spec, port, alive, logs)
        info = _describe(spec, port, workdir)
    except BaseException:
        stop()
        raise
    return StartedServer(info, stop, alive, logs)


def _describe(spec: ServerSpec, port: int, workdir: Path) -> Any:
    assert spec.url is not None
    url = replace(spec.url, port=port)
    return describe_server(url, spec.name, identities=spec.identities, known_hosts=spec.known_hosts,
                           capabilities=spec.capabilities, workdir=workdir, origin=spec.origin)  # fmt: skip


@dataclass
class UserPeers:
    """Named servers and clients of the user's; handles are made on first use, per process."""

    servers: dict[str, ServerSpec] = field(default_factory=dict)
    clients: dict[str, ClientSpec] = field(default_factory=dict)
    source: Path | None = None
    _handles: dict[str, Any] = field(default_factory=dict)
    _client_infos: dict[str, CommandClientInfo] = field(default_factory=dict)
    _errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    _tmp: Path | None = None

    def _workdir(self, name: str) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="harness-user-peers-"))
        path = self._tmp / f"{name}-{len(self._handles)}-{time.monotonic_ns()}"
        path.mkdir(parents=True)
        return path

    def server_handle(self, name: str) -> Any:
        """A running handle for the server ``name`` (PeerError with the reason otherwise)."""
        handle = self._handles.get(name)
        if handle is not None and handle.running:
            return handle
        if handle is not None:
            handle.stop()
        failures, error = self._errors.get(name, (0, ""))
        if failures >= START_ATTEMPTS:  # do not pay a start time-out for every scenario
            raise PeerError(error)
        try:
            handle = self._start(name)
        except PeerError as exc:
            self._errors[name] = (failures + 1, str(exc))
            raise
        self._handles[name] = handle
        return handle

    def _start(self, name: str) -> Any:
        spec = self.servers[name]
        if spec.kind == "url":
            assert spec.url is not None
            info = describe_server(spec.url, name, identities=spec.identities, known_hosts=spec.known_hosts,
                                   capabilities=spec.capabilities, workdir=self._workdir(name),
                                   origin=spec.origin)  # fmt: skip
            handle = ExternalServer(info)
        elif spec.kind == "command":
            handle = start_command_server(spec, self._workdir(name))
        else:
            handle = start_image_server(spec, self._workdir(name))
        return handle

    def not_applicable(self, name: str, scenario: Any, params: dict[str, Any]) -> str | None:
        """Why the user's server ``name`` cannot play ``scenario`` (known before it is started)."""
        spec = self.servers[name]
        reason = needs_control(scenario) if spec.kind == "url" else None
        if reason is None and spec.kind != "url" and needs_control(scenario):
            reason = "needs a peer started with special options, which a peers.toml server has no way to take"
        has_password = bool(spec.url and spec.url.password)
        return reason or missing_credentials(scenario, params, identity_keys(spec.identities), has_password)

    def client(self, name: str) -> tuple[CommandClientInfo, CommandClient]:
        """The client ``name``'s description (probed once per process) and a fresh driver."""
        info = self._client_infos.get(name)
        failures, error = self._errors.get(name, (0, ""))
        if info is None and failures >= START_ATTEMPTS:  # a client that does not work: say so at once
            raise PeerError(error)
        if info is None:
            try:
                info = self._probe_client(name)
            except PeerError as exc:
                self._errors[name] = (failures + 1, str(exc))
                raise
            self._client_infos[name] = info
        return info, CommandClient(replace(info))

    def _probe_client(self, name: str) -> CommandClientInfo:
        spec = self.clients[name]
        info = CommandClientInfo(name, spec.tokens, cwd=str(spec.base_dir))
        if spec.user:
            info.username = spec.user
        info.algorithms = declared_algorithms(spec.capabilities)
        return probe_client(info)

    def stop_all(self) -> None:
        for handle in self._handles.values():
            try:
                handle.stop()
            except Exception:
                pass
        self._handles.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def default_peers_file(cwd: Path | None = None) -> Path | None:
    path = (cwd or Path.cwd()) / DEFAULT_FILE
    return path if path.is_file() else None


def load_user_peers(*, target: str | None = None, identity: Sequence[str] = (), known_hosts: str | None = None,
                    name: str | None = None, client_command: str | None = None, client_name: str | None = None,
                    peers_file: str | None = None, builtin: Sequence[str] = ()) -> UserPeers:  # fmt: skip
    """Check and combine everything the user described; raises PeerError with one clear message."""
    if (identity or known_hosts or name) and not target:
        raise PeerError("--identity, --known-hosts and --name describe a --target; give --target ssh://user@host:port")
    peers = UserPeers()
    if peers_file:
        loaded: PeersFile = load_peers_file(Path(peers_file), builtin)
        peers.servers.update(loaded.servers)
        peers.clients.update(loaded.clients)
        peers.source = loaded.path
    if target:
        tname = check_peer_name(name or DEFAULT_TARGET_NAME, builtin)
        if tname in peers.servers or tname in peers.clients:
            raise PeerError(f"--name {tname}: {peers_file} already defines a peer of that name")
        spec = ServerSpec(tname, "url", "--target", url=parse_target_url(target))
        for flag, value in [*(("--identity", v) for v in identity), ("--known-hosts", known_hosts)]:
            if value:
                path = Path(value).expanduser().resolve()
                if not path.is_file():
                    raise PeerError(f"{flag} {value}: no such file")
                if flag == "--identity":
                    spec.identities.append(path)
                else:
                    spec.known_hosts = path
        identity_keys(spec.identities)  # a bad key file is a message now, not an error per scenario
        peers.servers[tname] = spec
    if client_command:
        cname = check_peer_name(client_name or DEFAULT_CLIENT_NAME, builtin)
        if cname in peers.servers or cname in peers.clients:
            raise PeerError(f"--client-name {cname}: already the name of another peer")
        peers.clients[cname] = ClientSpec(cname, parse_template(client_command), "--client-command",
                                          base_dir=Path.cwd())  # fmt: skip
    return peers


def add_user_peer_arguments(p: argparse.ArgumentParser, clients: bool = True) -> None:
    """The command-line options that describe the user's own peers (harness run, harness interop)."""
    own = p.add_argument_group("your own peers (docs/TARGETS.md)")
    own.add_argument("--target", metavar="URL", help="a running server: ssh://user[:password]@host:port")
    own.add_argument("--identity", metavar="FILE", action="append", default=[],
                     help="--target: private key to log in with (repeatable: one per key type)")  # fmt: skip
    own.add_argument("--known-hosts", metavar="FILE", help="--target: known_hosts (default: trust the probed key)")
    own.add_argument("--name", metavar="NAME", help="--target: peer id in reports and expectations (default: target)")
    if clients:
        own.add_argument("--client-command", metavar="TEMPLATE",
                         help="a client under test, e.g. 'mycli -p {port} {user}@{host} {command}' "
                              "(also {key}, {known_hosts})")  # fmt: skip
        own.add_argument("--client-name", metavar="NAME", help="--client-command: peer id (default: client-command)")
    own.add_argument("--peers-file", metavar="FILE", help="your peers described in TOML (default: ./peers.toml)")


def user_peers_from_args(args: argparse.Namespace, builtin: Sequence[str]) -> tuple[UserPeers, Path | None]:
    """The user's peers named on a command line (see add_user_peer_arguments) and the peers file used."""
    peers_file = Path(args.peers_file).resolve() if args.peers_file else default_peers_file()
    peers = load_user_peers(target=args.target, identity=args.identity, known_hosts=args.known_hosts,
                            name=args.name, client_command=getattr(args, "client_command", None),
                            client_name=getattr(args, "client_name", None),
                            peers_file=str(peers_file) if peers_file else None, builtin=builtin)  # fmt: skip
    return peers, peers_file


def chosen_server_ids(args: argparse.Namespace, peers: UserPeers) -> list[str]:
    """Servers a command line asked for: --peer ids and --target, else a peers file's; [] = the defaults."""
    explicit = [*args.peer, *([args.name or DEFAULT_TARGET_NAME] if args.target else [])]
    return explicit or list(peers.servers)


def chosen_client_ids(args: argparse.Namespace, peers: UserPeers) -> list[str]:
    """Client peers a command line asked for: --client-peer ids and --client-command, else a peers file's."""
    explicit = [*args.client_peer, *([args.client_name or DEFAULT_CLIENT_NAME] if args.client_command else [])]
    return explicit or list(peers.clients)


def probe_clients(peers: UserPeers, names: Sequence[str]) -> None:
    """Run each chosen client command once (its KEXINIT): a client that cannot work is one message."""
    for name in names:
        if name in peers.clients:
            peers.client(name)


def probe_targets(peers: UserPeers, names: Sequence[str]) -> None:
    """Probe the chosen servers given by URL once: one clear error before a whole run fails."""
    with tempfile.TemporaryDirectory(prefix="harness-probe-") as tmp:
        for name in names:
            spec = peers.servers.get(name)
            if spec is not None and spec.kind == "url" and spec.url is not None:
                describe_server(spec.url, name, identities=spec.identities, known_hosts=spec.known_hosts,
                                capabilities=spec.capabilities, workdir=Path(tmp) / name,
                                origin=spec.origin)  # fmt: skip
