"""A server someone else runs (``--target ssh://user[:password]@host:port``) as a server peer.

Why it is a peer like the built-in ones: scenarios, the interop matrix and reports all work on a
:class:`PeerInfo`, so a user's server gets the same requirements ("does it offer X?"), the same
expectations (a manifest named after the peer) and the same reports. What differs is control: the
harness never starts, restarts, kills or reconfigures it, so scenarios that need that are n/a
(:func:`needs_control`).

What is probed rather than declared: the identification line and the KEXINIT name-lists (one raw
connection, :mod:`harness.peers.probe`), and the user's authentication methods (our client asks
"none" and reads the USERAUTH_FAILURE list). Without ``--known-hosts`` the host key seen during
that probe is written to a known_hosts file of the run (trust on first use, said in the log).
"""

from __future__ import annotations

import logging
import re
import tempfile
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.peers.base import PeerError, PeerInfo, parse_software_version
from harness.peers.probe import read_server_kexinit

# A probe and the auth-method question each finish in milliseconds on loopback; a server that
# needs longer than this to send its KEXINIT is reported as unreachable rather than waited for.
PROBE_TIMEOUT = 10.0
DEFAULT_SSH_PORT = 22
# Peer names end up in pytest node ids ("[openssh-9.2]") and file names (expectations/NAME.toml).
PEER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
# Key algorithm -> the client key name scenarios ask for (PeerInfo.client_keys).
KEY_NAMES = {
    "ssh-ed25519": "ed25519",
    "ecdsa-sha2-nistp256": "ecdsa-256",
    "ecdsa-sha2-nistp384": "ecdsa-384",
    "ecdsa-sha2-nistp521": "ecdsa-521",
    "ssh-rsa": "rsa",
}
# Requirements that mean "the harness starts this peer in a special way" (n/a for a target).
CONTROL_REQUIREMENTS = ("PeerOptions",)
# Capability names a user may declare (peers.toml [capabilities]) besides the KEXINIT fields.
ALGORITHM_CAPABILITIES = {
    "kex": ("kex",),
    "host_key": ("host_key",),
    "cipher": ("cipher_c2s", "cipher_s2c"),
    "mac": ("mac_c2s", "mac_s2c"),
    "compression": ("compression_c2s", "compression_s2c"),
}


# Our client's log while probing: it accepts the host key unchecked on purpose (trust on first
# use is what the probe is for), so its "accepting host key without verification" warning is noise.
PROBE_LOG = "harness.peers.target.probe"
logging.getLogger(PROBE_LOG).setLevel(logging.ERROR)


class TargetError(PeerError):
    """A target that cannot be used: bad URL, unreadable key, unreachable server."""


@dataclass(frozen=True)
class TargetUrl:
    user: str
    password: str
    host: str
    port: int

    def __str__(self) -> str:
        secret = ":***" if self.password else ""
        return f"ssh://{self.user}{secret}@{self.host}:{self.port}"


def parse_target_url(text: str) -> TargetUrl:
    """``ssh://user[:password]@host[:port]`` (password URL-encoded where it has ``@:/%``)."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "ssh":
        raise TargetError(f"target {text!r}: must look like ssh://user[:password]@host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TargetError(f"target {text!r}: nothing may follow host:port")
    try:
        port = parts.port or DEFAULT_SSH_PORT
    except ValueError as exc:
        raise TargetError(f"target {text!r}: bad port ({exc})") from None
    if not parts.username:
        raise TargetError(f"target {text!r}: give the user to log in as (ssh://user@host:port)")
    if not parts.hostname:
        raise TargetError(f"target {text!r}: no host")
    return TargetUrl(urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""),
                     parts.hostname, port)  # fmt: skip


def check_peer_name(name: str, builtin: Sequence[str] = ()) -> str:
    if not PEER_NAME.match(name):
        raise TargetError(f"peer name {name!r}: use letters, digits and . _ + - (at most 64, no spaces)")
    if name in builtin:
        raise TargetError(f"peer name {name!r} is a built-in peer id; choose another --name")
    return name


def identity_keys(identities: Sequence[Path]) -> dict[str, Path]:
    """{key name: path} for the user's private keys (loaded here, so a bad file fails early).

    Scenarios ask for a key by type ("ed25519" unless they test another one), so one key per type."""
    from harness.ssh.keys import load_private_key_file

    keys: dict[str, Path] = {}
    for identity in identities:
        try:
            key = load_private_key_file(str(identity))
        except Exception as exc:  # unreadable, encrypted, unknown format: one message naming the file
            raise TargetError(f"identity {identity}: cannot load the private key ({exc}); it must be an "
                              "unencrypted OpenSSH or PEM key") from None  # fmt: skip
        name = KEY_NAMES.get(key.get_name())
        if name is None:
            raise TargetError(f"identity {identity}: key type {key.get_name()} is not one scenarios use")
        if name in keys:
            raise TargetError(f"identity {identity}: a second {name} key (after {keys[name]}); give one per type")
        keys[name] = identity
    return keys


def ask_auth_methods(host: str, port: int, user: str, timeout: float = PROBE_TIMEOUT) -> tuple[list[str], Any]:
    """(methods the server lists for ``user`` after "none", its host key) with our own client.

    Raises whatever the handshake raises; callers fall back to declared capabilities.
    """
    from harness.transport import Transport

    transport = Transport((host, port), timeout=timeout)
    transport.set_log_channel(PROBE_LOG)
    try:
        transport.start_client(timeout=timeout)
        methods = transport.auth_none(user)
        return methods, transport.get_remote_server_key()
    finally:
        transport.close()


def learn_host_keys(host: str, port: int, offered: Sequence[str], timeout: float = PROBE_TIMEOUT) -> list[Any]:
    """The server's host keys, one handshake per offered host key algorithm we implement.

    Trust on first use for a server given without known_hosts: the interop matrix forces each
    host key algorithm, so known_hosts must hold every key, not only the one a default
    handshake picks. Algorithms our client cannot use (or that fail) are skipped.
    """
    from harness.transport import Transport

    keys: dict[bytes, Any] = {}
    for algorithm in offered:
        transport = Transport((host, port), timeout=timeout)
        transport.set_log_channel(PROBE_LOG)
        try:
            transport.get_security_options().key_types = (algorithm,)
            transport.start_client(timeout=timeout)
            key = transport.get_remote_server_key()
            keys.setdefault(key.asbytes(), key)
        except Exception:  # an algorithm we do not implement, or one the server only pretends to offer
            continue
        finally:
            transport.close()
    return list(keys.values())


def _auth_methods(url: TargetUrl, have_key: bool, probed: Sequence[str] | None,
                  declared: Sequence[str] | None) -> tuple[str, ...]:  # fmt: skip
    """Methods scenarios may use: offered (probed, else declared) and backed by a credential."""
    usable = {"publickey"} if have_key else set()
    if url.password:
        usable |= {"password", "keyboard-interactive"}
    offered = probed if probed is not None else declared
    if offered is None:
        offered = ("publickey", "password", "keyboard-interactive")
    return tuple(m for m in offered if m in usable)


def declared_algorithms(capabilities: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name, keys in ALGORITHM_CAPABILITIES.items():
        if name in capabilities:
            for key in keys:
                out[key] = tuple(capabilities[name])
    return out


def describe_server(url: TargetUrl, name: str, *, identities: Sequence[Path] = (), known_hosts: Path | None = None,
                    capabilities: Mapping[str, Sequence[str]] | None = None, workdir: Path | None = None,
                    timeout: float = PROBE_TIMEOUT, origin: str = "") -> PeerInfo:  # fmt: skip
    """Probe the running server at ``url`` and describe it as a :class:`PeerInfo`."""
    capabilities = dict(capabilities or {})
    keys = identity_keys(identities)
    if known_hosts is not None and not known_hosts.is_file():
        raise TargetError(f"known_hosts {known_hosts}: no such file")
    try:
        algorithms = read_server_kexinit(url.host, url.port, timeout)
    except PeerError as exc:
        raise TargetError(f"{name} ({url}): {exc}") from None
    algorithms.update({k: v for k, v in declared_algorithms(capabilities).items() if k not in algorithms})
    banner = algorithms["banner"][0]
    product, version = parse_software_version(banner)
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"harness-target-{name}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    notes = [f"{name}: {banner} at {url.host}:{url.port}, run outside the harness ({origin or 'given as a URL'})"]
    try:
        probed: list[str] | None
        probed, host_key = ask_auth_methods(url.host, url.port, url.user, timeout)
    except Exception as exc:  # our client may not agree with it: declared capabilities decide
        probed, host_key = None, None
        notes.append(f"could not ask for the authentication methods ({type(exc).__name__}: {exc})")
    if known_hosts is None:
        known_hosts = workdir / "known_hosts"
        host = url.host if url.port == DEFAULT_SSH_PORT else f"[{url.host}]:{url.port}"
        seen = learn_host_keys(url.host, url.port, algorithms.get("host_key", ()), timeout) if host_key else []
        known_hosts.write_text("".join(f"{host} {k.get_name()} {k.get_base64()}\n" for k in seen))
        for key in seen:
            notes.append(f"trusted the host key seen at the probe: {key.get_name()} {key.fingerprint_sha256()} "
                         "(give --known-hosts to check it instead)")  # fmt: skip
    methods = _auth_methods(url, bool(keys), probed, capabilities.get("auth_methods"))
    extra = {"auth_methods": ",".join(methods), "external": "1"}
    if "subsystems" in capabilities:
        extra["subsystems"] = ",".join(capabilities["subsystems"])
    log_path = workdir / "target.log"
    log_path.write_text("\n".join(notes) + "\n")
    return PeerInfo(peer_id=name, product=product, version=version, host=url.host, port=url.port, banner=banner,
                    username=url.user, password=url.password, host_public_keys={}, client_keys=keys,
                    known_hosts=known_hosts, algorithms=algorithms, workdir=workdir, log_path=log_path,
                    extra=extra)  # fmt: skip


@dataclass
class ExternalServer:
    """Handle of a server the harness did not start: it is never restarted, killed or stopped."""

    info: PeerInfo

    @property
    def running(self) -> bool:
        return True  # whether it still answers is for the scenario to find out, not for a restart

    def logs(self) -> str:
        note = self.info.log_path.read_text() if self.info.log_path.exists() else ""
        return note + "(no server log: the server runs outside the harness; look at its own log)\n"

    def stop(self) -> None:
        """Nothing to stop: the server belongs to whoever started it."""


def needs_control(scenario: Any) -> str | None:
    """Why ``scenario`` cannot run against a server the harness does not control, or None."""
    for requirement in getattr(scenario, "requires", ()):
        if type(requirement).__name__ in CONTROL_REQUIREMENTS:
            why = getattr(requirement, "why", "") or "needs a peer started with special options"
            return f"{why}: the harness cannot start or reconfigure a server it does not run"
    return None


def _all_steps(steps: Any) -> list[Any]:
    out = []
    for step in steps:
        if isinstance(step, list | tuple):
            out += _all_steps(step)
        else:
            out += [step, *_all_steps(getattr(step, "steps", ()))]
    return out


def client_keys_used(scenario: Any, params: dict[str, Any], has_password: bool) -> set[str]:
    """Client key names the scenario's authentication steps log in with (Authenticate, AuthAttempt;
    "auto" means the password when there is one, else the step's key)."""
    try:
        steps = _all_steps(scenario.build(params))
    except Exception:  # a scenario that cannot even build its steps fails later with its own error
        return set()
    used = set()
    for step in steps:
        method, key = getattr(step, "method", None), getattr(step, "key", None)
        by_key = method in ("publickey", "publickey_query") or (method == "auto" and not has_password)
        if isinstance(key, str) and key != "unauthorized" and by_key:
            used.add(key)
    return used


def missing_credentials(scenario: Any, params: dict[str, Any], keys: Mapping[str, Path],
                        has_password: bool = False) -> str | None:  # fmt: skip
    """Why a user's server cannot play ``scenario`` with the credentials it was given, or None."""
    missing = sorted(client_keys_used(scenario, params, has_password) - set(keys))
    if not missing:
        return None
    have = ", ".join(sorted(keys)) or "none"
    return (f"logs in with the client key {', '.join(missing)}; this peer was given {have} "
            "(--identity, or identity in peers.toml)")
