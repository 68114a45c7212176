"""Run OpenSSH, Dropbear and tinysshd servers of several releases as Docker containers.

The images are ``harness-peer/<kind>:<suite>`` built from ``containers/<kind>/`` (see
``containers/bootstrap.sh``, which also makes the Debian base images where no registry is
reachable); the Debian release (``suite``) picks the server version. :data:`PEERS` maps the
stable peer ids (``openssh-9.2``, ``dropbear-2022.83``, ``tinyssh`` ...) to (kind, suite).

Why this shape (it mirrors :mod:`harness.peers.process`, so scenarios cannot tell them apart):

* Host networking, and the server listens on 127.0.0.1 at a port the harness picks: test traffic
  stays on loopback and never touches the docker bridge. A lost race for the port (the server
  exits with a bind error, or another process owns the listener) is retried on a new port.
* Each start gets a workdir mounted at ``/harness`` (config, host keys, known_hosts) and a per-run
  home of the test user mounted over ``/home/sshharness`` (``~/.ssh/authorized_keys`` for every
  client key of :func:`harness.peers.base.client_keys`; files written over SFTP land there).
  OpenSSH host keys are made on this machine (``ssh-keygen``); Dropbear's and tinysshd's own key
  formats are made by the image's entrypoint, which leaves OpenSSH-format ``.pub`` files behind.
* Ready means "our container owns the listener and it answered with an ``SSH-`` line", never a
  sleep. What the peer offers is read from the peer: its KEXINIT (:mod:`harness.peers.probe`)
  and, for OpenSSH, ``ssh -Q`` of the same image, whose answer also builds the sshd_config that
  enables everything the build supports (as the process launcher does).
* Containers carry labels (``harness.peer=1``, ``harness.run=<pid>`` ...): the first start of a
  process removes containers left by runs that died without cleaning up
  (:func:`cleanup_stale_containers`); ``stop()``, the context manager and an atexit hook stop
  what this process started. The container's logs are kept after stop for failure reports.

Bind mounts need the engine to run on this machine (host networking and 127.0.0.1 do too): a
remote ``DOCKER_HOST`` is not supported by this launcher.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.images import Image

from harness.peers.base import (
    LOOPBACK,
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
    tail,
    wait_all,
    write_known_hosts,
)
from harness.peers.probe import ProbeError, read_server_identification, read_server_kexinit
from harness.peers.process import (
    DEFAULT_DROPBEAR_HOST_KEYS,
    DROPBEAR_HOST_KEY_SPECS,
    SshdConfigValue,
    _openssh_host_key_specs,
    _owns_listener,
    openssh_config,
)
from harness.peers.testuser import TEST_PASSWORD, TEST_USER

IMAGE_REPOSITORY = "harness-peer"
PEER_KINDS = ("openssh", "dropbear", "tinyssh")


@dataclass(frozen=True)
class PeerSpec:
    """Which image runs a peer: the server family and the Debian release that ships it."""

    kind: str
    suite: str
    variant: str = ""  # "asan": the same source package built with sanitizers

    @property
    def tag(self) -> str:
        return f"{self.suite}-{self.variant}" if self.variant else self.suite

    @property
    def image(self) -> str:
        return f"{IMAGE_REPOSITORY}/{self.kind}:{self.tag}"


# Stable peer id -> image. The ids are what the running peer reports (make_peer_id of its
# banner); start_peer() checks that, so a Debian update that changes a version is noticed.
# containers/bootstrap.sh builds exactly these images (a test keeps the two lists in sync).
PEERS: dict[str, PeerSpec] = {
    "openssh-8.4": PeerSpec("openssh", "bullseye"),
    "openssh-9.2": PeerSpec("openssh", "bookworm"),
    "openssh-10.0": PeerSpec("openssh", "trixie"),
    "dropbear-2020.81": PeerSpec("dropbear", "bullseye"),
    "dropbear-2022.83": PeerSpec("dropbear", "bookworm"),
    "dropbear-2025.89": PeerSpec("dropbear", "trixie"),
    "tinyssh": PeerSpec("tinyssh", "bookworm"),
}

# Sanitizer builds for the live-peer fuzzer (harness.fuzz.live): Debian's source package of the
# same release compiled with AddressSanitizer and UndefinedBehaviorSanitizer, so a memory error
# the fuzzer provokes is a report in the log, not silent corruption. The id is the release's
# plus the variant. Not in PEERS: the conformance runs and scenarios use the packaged builds.
SANITIZER_PEERS: dict[str, PeerSpec] = {
    "dropbear-2022.83-asan": PeerSpec("dropbear", "bookworm", "asan"),
}

# Debian package whose version is recorded in PeerInfo.extra["package_version"].
_PACKAGES = {"openssh": "openssh-server", "dropbear": "dropbear-bin", "tinyssh": "tinysshd"}
# Where the entrypoints expect things inside the container (see containers/*/entrypoint.sh).
CONTAINER_WORKDIR = "/harness"
CONTAINER_HOME = f"/home/{TEST_USER}"

# Labels that identify our containers and the run that owns them.
LABEL_PEER = "harness.peer"
LABEL_RUN = "harness.run"  # pid of the owning process
LABEL_RUN_START = "harness.run-start"  # its start time (clock ticks since boot): pid reuse guard
LABEL_HOST = "harness.host"  # hostname: a shared engine may serve several machines
LABEL_BOOT = "harness.boot"  # boot id: after a reboot no owner is alive
LABEL_PEER_ID = "harness.peer-id"
LABEL_STARTED_BY = "harness.started-by"  # "peers-start": a container `harness peers stop ID` may stop
STARTED_BY_PEERS_START = {LABEL_STARTED_BY: "peers-start"}

# Lost port races are rare; five tries make a failure from that cause practically impossible.
START_ATTEMPTS = 5
# Readiness polling: each poll is one engine API call plus a /proc read, a few ms.
POLL_INTERVAL = 0.05
# One readiness probe may wait this long for the banner before we look at the container again.
PROBE_TIMEOUT = 2.0
# sshd, dropbear and tcpserver exit at once on SIGTERM; the engine SIGKILLs after this.
STOP_TIMEOUT = 3
# Engine API calls are local and quick; a bound keeps a wedged engine from hanging a test run.
API_TIMEOUT = 60
# Messages with which the servers report a port someone else got first.
_BIND_FAILURES = ("Address already in use", "Cannot bind any address", "unable to bind", "Error listening")


# --------------------------------------------------------------------------------------------
# The engine


_client_lock = threading.Lock()
_client_cache: dict[int, docker.DockerClient] = {}


def _client() -> docker.DockerClient:
    """One client per process (forks and xdist workers each make their own connection)."""
    with _client_lock:
        client = _client_cache.get(os.getpid())
        if client is None:
            client = docker.from_env(timeout=API_TIMEOUT)
            _client_cache.clear()
            _client_cache[os.getpid()] = client
        return client


def docker_available() -> tuple[bool, str]:
    """Whether a Docker engine answers; the reason (or the engine's version) as text."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
            version = client.version()
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return False, (f"no Docker engine answers at {where} ({exc}); install and start one with "
                       f"containers/bootstrap.sh")
    return True, f"Docker engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) at {where}"


def peer_spec(peer_id: str) -> PeerSpec:
    """The image of a packaged peer (:data:`PEERS`) or a sanitizer build (:data:`SANITIZER_PEERS`)."""
    from harness.peers.zoo import zoo_peer_specs  # the opt-in zoo (harness.peers.zoo)

    spec = PEERS.get(peer_id) or SANITIZER_PEERS.get(peer_id) or zoo_peer_specs().get(peer_id)
    if spec is None:
        raise ValueError(f"unknown peer {peer_id!r}; known: {', '.join([*PEERS, *SANITIZER_PEERS])} "
                         f"and the zoo's ({', '.join(zoo_peer_specs())})")
    return spec


def peer_image_status(peer_id: str) -> tuple[bool, str]:
    """Whether the image of ``peer_id`` is present in the engine; the reason if not."""
    spec = peer_spec(peer_id)
    try:
        _client().images.get(spec.image)
    except docker.errors.ImageNotFound:
        return False, f"image {spec.image} (peer {peer_id}) is not built; run containers/bootstrap.sh"
    except docker.errors.DockerException as exc:
        return False, f"cannot ask the Docker engine for {spec.image}: {exc}"
    return True, spec.image


# --------------------------------------------------------------------------------------------
# Ownership labels and stale containers


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _process_start(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot ("" if it does not exist)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return raw[raw.rindex(")") + 2 :].split()[19]


def _owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {LABEL_PEER: "1", LABEL_RUN: str(pid), LABEL_RUN_START: _process_start(pid),
            LABEL_HOST: socket.gethostname(), LABEL_BOOT: _boot_id()}


def _is_stale(labels: Mapping[str, str]) -> bool:
    """A container of ours whose owning process (on this machine) is gone."""
    if labels.get(LABEL_HOST) != socket.gethostname():
        return False  # another machine's run on a shared engine: not ours to judge
    if labels.get(LABEL_BOOT) != _boot_id():
        return True
    try:
        pid = int(labels.get(LABEL_RUN, ""))
    except ValueError:
        return True
    start = _process_start(pid)
    return not start or start != labels.get(LABEL_RUN_START)


def cleanup_stale_containers() -> list[str]:
    """Remove peer containers whose owning process died without stopping them; returns their names.

    Containers of live processes (other test runs, xdist workers) and of other machines sharing
    the engine are left alone.
    """
    client = _client()
    removed = []
    # ignore_removed: a container another run removes between the listing and its inspection
    # would otherwise fail the listing (and with it the start of this run's peer) with a 404.
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_PEER}=1"}, ignore_removed=True):
        if _is_stale(container.labels):
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                continue
            removed.append(container.name)
    return removed


def stop_peer_containers(peer_id: str) -> list[str]:
    """Stop and remove the containers of ``peer_id`` that ``harness peers start`` started on this
    machine (``harness peers stop ID``); returns their names.

    Unlike :func:`cleanup_stale_containers` this stops containers whose owner is still alive (a
    ``harness peers start`` in another terminal): the user asked for exactly this peer. Containers
    of other peers, of test runs (which may be using them right now) and of other machines on a
    shared engine are left alone.
    """
    spec = peer_spec(peer_id)
    client = _client()
    removed = []
    wanted = [f"{LABEL_PEER_ID}={spec.kind}:{spec.tag}", f"{LABEL_STARTED_BY}=peers-start"]
    for container in client.containers.list(all=True, filters={"label": wanted}, ignore_removed=True):
        labels = container.labels
        if labels.get(LABEL_PEER) != "1" or labels.get(LABEL_HOST) != socket.gethostname():
            continue
        _remove_container(container, None)
        removed.append(str(container.name))
    return removed


_cleanup_done: set[int] = set()
_cleanup_lock = threading.Lock()


def _cleanup_once() -> None:
    with _cleanup_lock:
        if os.getpid() in _cleanup_done:
            return
        cleanup_stale_containers()
        _cleanup_done.add(os.getpid())


# --------------------------------------------------------------------------------------------
# The handle


class DockerServer:
    """A running peer container: ``info`` to connect, ``logs()`` for failures, ``stop()`` to end.

    Usable as a context manager; ``stop()`` is idempotent and also runs at interpreter exit. The
    container's output is written to ``info.log_path`` by ``logs()`` and at ``stop()``.
    """

    def __init__(self, info: PeerInfo, container: Container, cleanup_dirs: Sequence[Path] = ()) -> None:
        self.info = info
        self.container = container
        self._cleanup_dirs = tuple(cleanup_dirs)
        self._lock = threading.Lock()
        self._stopped = False
        self._final_logs: str | None = None
        _LIVE.add(self)

    @property
    def name(self) -> str:
        return str(self.container.name)

    @property
    def running(self) -> bool:
        if self._stopped:
            return False
        try:
            self.container.reload()
        except docker.errors.DockerException:
            return False
        return self.container.status == "running"

    def exec(self, argv: Sequence[str], *, user: str = "") -> tuple[int, str]:
        """Run a command in the peer's container; (exit code, stdout+stderr as text)."""
        result = self.container.exec_run(list(argv), user=user)
        return int(result.exit_code), result.output.decode("utf-8", "replace")

    def logs(self) -> str:
        """The server's output so far (also after stop, for attaching to failure reports)."""
        if self._final_logs is not None:
            return self._final_logs
        text = _container_logs(self.container)
        _write_log(self.info.log_path, text)
        return text

    def stop(self) -> None:
        """Stop and remove the container (every process in it dies with it); safe to call twice."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self._final_logs = _remove_container(self.container, self.info.log_path)
        finally:
            _LIVE.discard(self)
            for directory in self._cleanup_dirs:
                shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> DockerServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "started"
        return f"<DockerServer {self.info.peer_id} {self.info.host}:{self.info.port} {self.name} {state}>"


_LIVE = LiveServers()


def _container_logs(container: Container) -> str:
    try:
        raw = container.logs(stdout=True, stderr=True)
    except docker.errors.DockerException as exc:
        return f"(container logs unavailable: {exc})"
    # sshd -e ends lines with CR LF; normalised for readable reports (as the process launcher does).
    return raw.decode("utf-8", "replace").replace("\r\n", "\n")


def _write_log(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass


def _remove_container(container: Container, log_path: Path | None) -> str:
    """Stop, keep the logs, remove. Returns the logs."""
    try:
        container.stop(timeout=STOP_TIMEOUT)
    except docker.errors.NotFound:
        return ""
    except docker.errors.DockerException:
        pass  # removal below forces it
    text = _container_logs(container)
    if log_path is not None:
        _write_log(log_path, text)
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    return text


# --------------------------------------------------------------------------------------------
# OpenSSH: what the image's build supports


@dataclass(frozen=True)
class _OpensshBuild:
    supported: dict[str, tuple[str, ...]]
    # Config name of the accepted client key algorithms: renamed in OpenSSH 8.5.
    pubkey_option: str


# supported_* key -> `ssh -Q` query (as in harness.peers.process.openssh_supported_algorithms).
_SSH_QUERIES = {
    "supported_kex": "kex",
    "supported_cipher": "cipher",
    "supported_mac": "mac",
    "supported_key": "key",
    "supported_host_key": "HostKeyAlgorithms",
    "supported_pubkey": "PubkeyAcceptedAlgorithms",
    "supported_compression": "compression",
}
# 8.4 knows only the old name of PubkeyAcceptedAlgorithms, in ssh -Q as in sshd_config.
_PUBKEY_OLD_NAME = "PubkeyAcceptedKeyTypes"


@functools.cache
def _openssh_build(image_id: str) -> _OpensshBuild:
    """Ask the image's ``ssh -Q`` (one short-lived container per image and process)."""
    queries = [*_SSH_QUERIES.values(), _PUBKEY_OLD_NAME]
    script = "; ".join(f'echo "@@ {q}"; ssh -Q {q} 2>/dev/null || echo "@@ failed"' for q in queries)
    output = _run_oneshot(image_id, ["sh", "-c", script])
    answers: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@@ failed") and current is not None:
            current.append("@@ failed")
        elif line.startswith("@@ "):
            current = answers.setdefault(line[3:].strip(), [])
        elif current is not None and line.strip():
            current.append(line.strip())
    ok = {q: tuple(v) for q, v in answers.items() if v and "@@ failed" not in v}
    pubkey_option = "PubkeyAcceptedAlgorithms"
    if "PubkeyAcceptedAlgorithms" not in ok and _PUBKEY_OLD_NAME in ok:
        pubkey_option = _PUBKEY_OLD_NAME
        ok["PubkeyAcceptedAlgorithms"] = ok[_PUBKEY_OLD_NAME]
    missing = [q for q in _SSH_QUERIES.values() if q not in ok]
    if missing:
        raise PeerStartError(f"ssh -Q {', '.join(missing)} failed in image {image_id}; output:\n{tail(output)}")
    return _OpensshBuild({key: ok[q] for key, q in _SSH_QUERIES.items()}, pubkey_option)


def _run_oneshot(image_id: str, argv: Sequence[str]) -> str:
    """Run ``argv`` in a throw-away container (no network) and return its output."""
    client = _client()
    container = client.containers.create(image_id, list(argv), network_mode="none",
                                         labels={**_owner_labels(), LABEL_PEER_ID: "oneshot"})
    try:
        container.start()
        status = container.wait(timeout=API_TIMEOUT)
        output = _container_logs(container)
        if status.get("StatusCode") != 0:
            raise PeerStartError(f"{' '.join(argv)} in {image_id} exited with {status}: {tail(output)}")
        return output
    finally:
        try:
            container.remove(force=True, v=True)
        except docker.errors.DockerException:
            pass


# --------------------------------------------------------------------------------------------
# Starting


@dataclass
class _Plan:
    """What differs between the three kinds: command, environment, where the host keys come from."""

    command: list[str]
    environment: dict[str, str]
    # name -> .pub path on this machine, known before start (OpenSSH) or read after (the others)
    pubkeys: dict[str, Path]
    supported: dict[str, tuple[str, ...]] | None
    extra: dict[str, str]


def _plan_openssh(image: Image, workdir: Path, extra_config: Mapping[str, SshdConfigValue] | None,
                  ) -> tuple[_Plan, Callable[[int], None]]:
    build = _openssh_build(str(image.id))
    keydir = workdir / "hostkeys"
    keydir.mkdir(exist_ok=True)
    specs = _openssh_host_key_specs(build.supported)  # every type the build supports (dsa until 10.0)
    private = {name: keydir / f"ssh_host_{name.replace('-', '_')}_key" for name in specs}
    for path in private.values():
        path.unlink(missing_ok=True)
        Path(f"{path}.pub").unlink(missing_ok=True)
    wait_all({n: generate_openssh_key(private[n], specs[n]) for n in specs}, "sshd host keys")
    in_container = [f"{CONTAINER_WORKDIR}/hostkeys/{p.name}" for p in private.values()]
    overrides: dict[str, SshdConfigValue] = {}
    if build.pubkey_option != "PubkeyAcceptedAlgorithms":
        pubkeys = [n for n in build.supported["supported_pubkey"] if "-cert-" not in n
                   and not n.startswith(("sk-", "webauthn-"))]
        overrides = {"PubkeyAcceptedAlgorithms": None, build.pubkey_option: ",".join(pubkeys)}
    overrides.update(extra_config or {})
    config = workdir / "sshd_config"

    def write_config(port: int) -> None:
        text = openssh_config(port, [Path(p) for p in in_container], Path(f"{CONTAINER_WORKDIR}/sshd.pid"),
                              build.supported, overrides)
        config.write_text(text.replace("harness.peers.process", "harness.peers.docker"))

    plan = _Plan(
        command=["sshd"],
        environment={"HARNESS_SSHD_CONFIG": f"{CONTAINER_WORKDIR}/sshd_config"},
        pubkeys={name: Path(f"{path}.pub") for name, path in private.items()},
        supported=dict(build.supported),
        extra={"config": str(config), "auth_methods": "publickey,password,keyboard-interactive"},
    )
    return plan, write_config


def _plan_dropbear(host_key_types: Sequence[str], extra_args: Sequence[str]) -> _Plan:
    unknown = [n for n in host_key_types if n not in DROPBEAR_HOST_KEY_SPECS]
    # Dropbear refuses more than 4 -r options (MAX_HOSTKEYS in 2022.83).
    if unknown or not 1 <= len(host_key_types) <= 4:
        raise ValueError(f"host_key_types must be 1-4 of {sorted(DROPBEAR_HOST_KEY_SPECS)}: {host_key_types!r}")
    return _Plan(
        command=["dropbear", *extra_args],
        environment={"HARNESS_HOST_KEYS": " ".join(host_key_types)},
        pubkeys={},
        supported=None,
        # Dropbear's server has no keyboard-interactive at all (it answers with publickey,password).
        extra={"auth_methods": "publickey,password"},
    )


def _plan_tinyssh(extra_args: Sequence[str]) -> _Plan:
    return _Plan(command=["tinysshd", *extra_args], environment={}, pubkeys={}, supported=None,
                 extra={"auth_methods": "publickey"})


def _pubkeys_from_entrypoint(keydir: Path) -> dict[str, Path]:
    """Host keys the Dropbear/tinyssh entrypoint made: name -> OpenSSH-format ``.pub``."""
    found: dict[str, Path] = {}
    for pub in sorted(keydir.glob("*.pub")):
        stem = pub.name.removesuffix(".pub")
        name = stem.removeprefix("dropbear_").removeprefix("ssh_host_").removesuffix("_host_key")
        name = name.removesuffix("_key").replace("_", "-")
        if pub.read_text().strip():
            found[name] = pub
    return found


def _prepare_home(home: Path) -> None:
    """A fresh per-run home with ~/.ssh/authorized_keys; the entrypoint fixes owner and modes."""
    if home.exists():
        shutil.rmtree(home)
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "authorized_keys").write_text(authorized_keys_text(client_keys()))


def start_docker_server(image_kind: str, suite: str, workdir: Path | None = None, *, timeout: float = 30.0,
                        extra_config: Mapping[str, SshdConfigValue] | None = None,
                        host_key_types: Sequence[str] = DEFAULT_DROPBEAR_HOST_KEYS,
                        extra_args: Sequence[str] = (), variant: str = "",
                        labels: Mapping[str, str] | None = None) -> DockerServer:
    """Start ``harness-peer/<image_kind>:<suite>[-<variant>]`` on a free loopback port; returns once it answered.

    ``workdir`` (None: a temp dir that ``stop()`` removes) is mounted at /harness and holds the
    config, host keys, known_hosts, the per-run home and the log. ``extra_config`` overrides
    sshd_config options (OpenSSH, as in :func:`harness.peers.process.openssh_config`);
    ``host_key_types`` picks Dropbear's host keys (1-4 names; types the release cannot make,
    like dsa in newer ones, are skipped); ``extra_args`` go to dropbear/tinysshd; ``labels`` are
    added to the container's (``harness peers start`` marks its own, for ``harness peers stop ID``).
    """
    if image_kind not in PEER_KINDS:
        raise ValueError(f"image_kind must be one of {PEER_KINDS}: {image_kind!r}")
    deadline = time.monotonic() + timeout
    spec = PeerSpec(image_kind, suite, variant)
    try:
        client = _client()
        _cleanup_once()
        image = client.images.get(spec.image)
    except docker.errors.ImageNotFound as exc:
        raise PeerStartError(f"image {spec.image} is not built; run containers/bootstrap.sh") from exc
    except docker.errors.DockerException as exc:
        raise PeerStartError(f"Docker engine not usable: {exc} (see docker_available())") from exc

    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix=f"harness-docker-{image_kind}-"))
        cleanup = [workdir]
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        workdir = workdir.resolve()
        cleanup = []
    try:
        return _start(client, spec, image, workdir, cleanup, deadline, extra_config, host_key_types, extra_args,
                      dict(labels or {}))
    except BaseException:
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def start_peer(peer_id: str, workdir: Path | None = None, *, timeout: float = 30.0, **options: Any) -> DockerServer:
    """Start the peer with this id (:data:`PEERS`, :data:`SANITIZER_PEERS`) and check it is the
    version the id names."""
    spec = peer_spec(peer_id)
    server = start_docker_server(spec.kind, spec.suite, workdir, timeout=timeout, variant=spec.variant, **options)
    if server.info.peer_id != peer_id:
        banner = server.info.banner
        server.stop()
        raise PeerStartError(f"image {spec.image} runs {banner!r} (peer id {server.info.peer_id}), "
                             f"not {peer_id}: update PEERS and docs/PEERS.md for the new release")
    return server


def _start(client: docker.DockerClient, spec: PeerSpec, image: Image, workdir: Path, cleanup: list[Path],
           deadline: float, extra_config: Mapping[str, SshdConfigValue] | None,
           host_key_types: Sequence[str], extra_args: Sequence[str], labels: dict[str, str]) -> DockerServer:
    write_config: Callable[[int], None] | None = None
    if spec.kind == "openssh":
        if extra_args:
            raise ValueError("extra_args are for dropbear/tinysshd; use extra_config for OpenSSH")
        plan, write_config = _plan_openssh(image, workdir, extra_config)
    elif spec.kind == "dropbear":
        plan = _plan_dropbear(host_key_types, extra_args)
        shutil.rmtree(workdir / "hostkeys", ignore_errors=True)
    else:
        plan = _plan_tinyssh(extra_args)
        shutil.rmtree(workdir / "hostkeys", ignore_errors=True)
    home = workdir / "home"
    _prepare_home(home)
    log_path = workdir / f"{spec.kind}.log"
    log_path.write_text("")
    attempts_log = []

    for attempt in range(1, START_ATTEMPTS + 1):
        port = pick_free_port()
        if write_config is not None:
            write_config(port)
        try:
            container = client.containers.create(
                image.id,
                plan.command,
                name=f"harness-{spec.kind}-{spec.tag}-{os.getpid()}-{port}",
                environment={"HARNESS_LISTEN": LOOPBACK, "HARNESS_PORT": str(port), **plan.environment},
                network_mode="host",
                volumes={str(workdir): {"bind": CONTAINER_WORKDIR, "mode": "rw"},
                         str(home): {"bind": CONTAINER_HOME, "mode": "rw"}},
                labels={**labels, **_owner_labels(), LABEL_PEER_ID: f"{spec.kind}:{spec.tag}"},
            )
        except docker.errors.DockerException as exc:
            raise PeerStartError(f"cannot create a container from {spec.image}: {exc}") from exc
        try:
            container.start()
            banner = _wait_ready(container, port, deadline)
            algorithms = read_server_kexinit(LOOPBACK, port, max(0.5, deadline - time.monotonic()))
            _check_still_running(container)
            info = _peer_info(container, spec, image, banner, port, algorithms, plan, workdir, home, log_path)
            return DockerServer(info, container, cleanup)
        except _PortTakenError:
            attempts_log.append(f"attempt {attempt}: port {port} taken\n{_remove_container(container, None)}")
            continue
        except BaseException as exc:
            logs = _remove_container(container, log_path)
            if isinstance(exc, ProbeError):
                raise PeerStartError(f"{spec.image} answered but its KEXINIT could not be read: {exc}\n"
                                     f"--- container log tail ---\n{tail(logs)}") from exc
            if isinstance(exc, docker.errors.DockerException):
                raise PeerStartError(f"Docker engine error while starting {spec.image}: {exc}\n"
                                     f"--- container log tail ---\n{tail(logs)}") from exc
            raise
    raise PeerStartError(f"{spec.image}: lost the race for a free port {START_ATTEMPTS} times\n"
                         f"--- last attempt ---\n{tail(attempts_log[-1])}")


class _PortTakenError(Exception):
    """Internal: the server lost the race for its port; retry with another."""


def _wait_ready(container: Container, port: int, deadline: float) -> str:
    """Poll until the container owns the listener and it answered; returns the identification line."""
    last_error = "no listener yet"
    while True:
        container.reload()
        state = container.attrs.get("State", {})
        if container.status in ("exited", "dead"):
            logs = _container_logs(container)
            if any(msg in logs for msg in _BIND_FAILURES):
                raise _PortTakenError
            raise PeerStartError(f"{container.name} exited with status {state.get('ExitCode')} before it was "
                                 f"ready\n--- container log tail ---\n{tail(logs)}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PeerStartError(f"{container.name} not ready on {LOOPBACK}:{port} within the deadline "
                                 f"({last_error})\n--- container log tail ---\n{tail(_container_logs(container))}")
        pid = int(state.get("Pid") or 0)
        if container.status == "running" and pid and _listener_is_ours(pid, port):
            try:
                return read_server_identification(LOOPBACK, port, min(PROBE_TIMEOUT, remaining))
            except ProbeError as exc:
                last_error = str(exc)
        time.sleep(min(POLL_INTERVAL, max(0.0, remaining)))


def _check_still_running(container: Container) -> None:
    """After the probes: a server that lost the port race exits; then the answer was someone else's."""
    container.reload()
    if container.status != "running":
        if any(msg in _container_logs(container) for msg in _BIND_FAILURES):
            raise _PortTakenError
        raise PeerStartError(f"{container.name} exited right after it answered\n--- container log tail ---\n"
                             f"{tail(_container_logs(container))}")


def _listener_is_ours(pid: int, port: int) -> bool:
    """Whether the container's init (the server, or tcpserver) holds the listener on ``port``.

    The engine runs on this machine (bind mounts and host networking need that), so the
    container's init is visible here under its host pid. Without root its file descriptors are
    not readable: then any listener will do, and :func:`_check_still_running` catches a lost race.
    """
    if not Path(f"/proc/{pid}").exists():
        raise PeerError(f"container init pid {pid} is not visible here: is the Docker engine remote? "
                        f"This launcher needs a local engine (host networking, bind mounts)")
    try:
        os.listdir(f"/proc/{pid}/fd")
    except PermissionError:
        return True
    except OSError:
        return False
    return _owns_listener(pid, port)


def _package_version(container: Container, package: str) -> str:
    try:
        result = container.exec_run(["dpkg-query", "-W", "-f", "${Version}", package])
    except docker.errors.DockerException:
        return ""
    return result.output.decode("utf-8", "replace").strip() if result.exit_code == 0 else ""


def _peer_info(container: Container, spec: PeerSpec, image: Image, banner: str, port: int,
               algorithms: dict[str, tuple[str, ...]], plan: _Plan, workdir: Path, home: Path,
               log_path: Path) -> PeerInfo:
    pubkeys = plan.pubkeys or _pubkeys_from_entrypoint(workdir / "hostkeys")
    if not pubkeys:
        raise PeerStartError(f"{container.name}: no host public keys in {workdir / 'hostkeys'}")
    if plan.supported:
        algorithms.update(plan.supported)
    product, version = parse_software_version(banner)
    package_version = _package_version(container, _PACKAGES[spec.kind])
    # One tinysshd in the matrix, so a plain id: its banner carries whatever version string the
    # build was given (upstream "noversion", Debian "20230101-1" plus a random word).
    peer_id = "tinyssh" if product == "tinyssh" else make_peer_id(product, version)
    if spec.variant:  # a sanitizer build of that release: its own id
        peer_id = f"{peer_id}-{spec.variant}"
    extra = {
        "launcher": "docker", "image": spec.image, "image_id": str(image.id), "kind": spec.kind,
        "suite": spec.suite, "variant": spec.variant, "container": str(container.name),
        "container_id": str(container.id),
        "package_version": package_version, **plan.extra,
    }
    return PeerInfo(
        peer_id=peer_id, product=product, version=version, host=LOOPBACK, port=port, banner=banner,
        username=TEST_USER, password=TEST_PASSWORD, host_public_keys=dict(pubkeys), client_keys=client_keys(),
        known_hosts=write_known_hosts(workdir / "known_hosts", LOOPBACK, port, pubkeys),
        algorithms=algorithms, workdir=workdir, log_path=log_path, home=home, extra=extra,
    )
