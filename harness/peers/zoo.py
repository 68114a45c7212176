"""The peer zoo: more SSH implementations as server peers (AsyncSSH, paramiko, Conch, Go ...).

Why a zoo beside :mod:`harness.peers.docker`: OpenSSH, Dropbear and tinysshd are the default
peers (every CI run meets them); the zoo adds libraries and smaller servers that users of the
harness meet in the wild, opt-in (``harness interop --peer ID``) because their images take
longer to build. Each zoo image (``harness-peer/zoo-<name>:<tag>``, built by
``containers/bootstrap.sh zoo`` from ``containers/zoo/``) runs a small server program of ours
against the library, started through one shared entrypoint (containers/zoo/common): it listens
on 127.0.0.1 at the port we pick, logs the test user in with its password or any client key of
:func:`harness.peers.base.client_keys`, and runs commands with ``/bin/sh -c`` as that user.

This module is the table (light to import: the registry reads it); starting one is
:mod:`harness.peers.zoo_docker`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.peers.docker import PeerSpec

ALL_USER_KEYS = ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem", "ed25519-encrypted")
_PYTHON = ("/opt/zoo/bin/python", "-W", "ignore")


@dataclass(frozen=True)
class ZooServer:
    """One zoo server peer: its image, how to start it and what it supports.

    ``banner`` is a regex the identification line must match (a rebuilt image with another
    release is noticed at start, as the packaged peers' ids are checked); ``version`` is the
    release the id names, for products whose banner carries none.
    """

    peer_id: str
    kind: str  # image harness-peer/<kind>:<tag>
    tag: str
    command: tuple[str, ...]
    product: str
    version: str
    banner: str
    host_keys: tuple[str, ...] = ("ed25519", "ecdsa", "rsa")
    auth_methods: str = "publickey,password"
    user_keys: tuple[str, ...] = ALL_USER_KEYS
    subsystems: tuple[str, ...] = ()
    notes: str = ""
    # Security options (harness.interop.connect keywords) a client of ours needs to log in at
    # all: only for peers whose whole offer is outside our client's defaults (GNU lsh).
    login_algorithms: AlgorithmOptions = ()
    # ConnectionConfig options the scenario engine's connections use (scenarios run without
    # strict kex unless they ask): Uppity 0.78 crashes on chacha20-poly1305 without strict kex,
    # which would end every scenario before what it is about.
    scenario_algorithms: AlgorithmOptions = ()
    # Whether it verifies only SHA-1 "ssh-rsa" user signatures (it predates RFC 8332).
    rsa_sha1_signatures: bool = False
    # The password it accepts, when it has its own instead of the test user's (PuTTY's Uppity).
    password: str | None = None
    # Whether a client of ours must wait for SERVICE_ACCEPT before its first USERAUTH_REQUEST:
    # Uppity 0.78 at times never answers one sent right behind the SERVICE_REQUEST.
    service_accept_first: bool = False

    @property
    def spec(self) -> PeerSpec:
        from harness.peers.docker import PeerSpec

        suite, _, variant = self.tag.partition("-")
        return PeerSpec(self.kind, suite, variant)


def _python(script: str) -> tuple[str, ...]:
    return ("serve", *_PYTHON, f"/opt/zoo/servers/{script}")


ZOO_SERVERS: dict[str, ZooServer] = {s.peer_id: s for s in (
    ZooServer("asyncssh-2.24.1", "zoo-python", "bookworm-pypi", _python("asyncssh_server.py"),
              "asyncssh", "2.24.1", r"^SSH-2\.0-AsyncSSH_2\.24\.1$", subsystems=("sftp",)),
    ZooServer("paramiko-5.1.0", "zoo-python", "bookworm-pypi", _python("paramiko_server.py"),
              "paramiko", "5.1.0", r"^SSH-2\.0-paramiko_5\.1\.0$"),
    ZooServer("conch-26.10.0", "zoo-python", "bookworm-pypi", _python("conch_server.py"),
              "conch", "26.10.0", r"^SSH-2\.0-Twisted_26\.10\.0$"),
    ZooServer("asyncssh-2.10.1", "zoo-python", "bookworm", _python("asyncssh_server.py"),
              "asyncssh", "2.10.1", r"^SSH-2\.0-AsyncSSH_2\.10\.1$", subsystems=("sftp",)),
    ZooServer("paramiko-2.12.0", "zoo-python", "bookworm", _python("paramiko_server.py"),
              "paramiko", "2.12.0", r"^SSH-2\.0-paramiko_2\.12\.0$"),
    ZooServer("conch-22.4.0", "zoo-python", "bookworm", _python("conch_server.py"),
              "conch", "22.4.0", r"^SSH-2\.0-Twisted_22\.4\.0$"),
    # x/crypto/ssh's banner carries no version: the id names Debian's golang-golang-x-crypto-dev.
    ZooServer("go-x-crypto-0.4", "zoo-go", "bookworm", ("serve", "/usr/local/bin/go-ssh-server"),
              "go", "0.4.0", r"^SSH-2\.0-Go$"),
    ZooServer("libssh-0.10.6", "zoo-libssh", "bookworm", ("serve", "/usr/local/bin/libssh-server"),
              "libssh", "0.10.6", r"^SSH-2\.0-libssh_0\.10\.6$"),
    # OTP 25.2's ssh application is 4.15.2; its banner names the application version.
    ZooServer("erlang-ssh-4.15.2", "zoo-erlang", "bookworm",
              ("serve", "erl", "-noshell", "-noinput", "-pa", "/opt/zoo", "-s", "zoo_erlang", "main"),
              "erlang", "4.15.2", r"^SSH-2\.0-Erlang/4\.15\.2$", subsystems=("sftp",)),
    ZooServer("node-ssh2-1.17.0", "zoo-node", "bookworm", ("serve", "node", "/opt/zoo/server.js"),
              "ssh2js", "1.17.0", r"^SSH-2\.0-ssh2js1\.17\.0$"),
    # lshd runs as root (it checks passwords itself and changes to the user); RSA keys only (its
    # tools convert PEM host keys and ssh-rsa/ssh-dss authorized keys to lsh's SPKI format).
    ZooServer("lsh-2.1", "zoo-lsh", "bookworm", ("serve-as-root", "/usr/local/bin/lsh-serve"),
              "lsh", "2.1", r"^SSH-2\.0-lshd-2\.1 ", host_keys=("rsa",), user_keys=("rsa", "rsa-pem"),
              notes="SHA-1 DH groups, CBC/arcfour ciphers, hmac-sha1/md5 only",
              login_algorithms=(("kex", ("diffie-hellman-group14-sha1",)), ("ciphers", ("aes256-cbc",)),
                                ("digests", ("hmac-sha1",))), rsa_sha1_signatures=True),
    # PuTTY's test server, built from Debian's putty source (0.78); one process per connection
    # under tcpserver. It has no tie to the system's accounts: any user name, and the one phony
    # password compiled in ("weasel"); it runs commands as the uid it runs as (the test user).
    # 0.78 at times leaves a USERAUTH_REQUEST sent right behind the SERVICE_REQUEST unanswered
    # until another packet arrives (docs/PEERS.md): our clients wait for SERVICE_ACCEPT first.
    ZooServer("uppity-0.78", "zoo-putty", "bookworm", ("serve", "/usr/local/bin/uppity-serve"),
              "uppity", "0.78", r"^SSH-2\.0-Uppity_Release_0\.78$", subsystems=("sftp",), password="weasel",
              notes="built-in password only; per connection under tcpserver", service_accept_first=True,
              scenario_algorithms=(("ciphers", ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr",
                                                "aes256-ctr")),)),
)}


AlgorithmOptions = tuple[tuple[str, tuple[str, ...]], ...]


def encode_options(options: AlgorithmOptions) -> str:
    """``(("kex", ("a", "b")), ("ciphers", ("c",)))`` -> ``kex=a,b;ciphers=c``: how a zoo entry's
    algorithm options travel in ``PeerInfo.extra`` (a str -> str mapping)."""
    return ";".join(f"{name}={','.join(names)}" for name, names in options)


def decode_options(text: str) -> dict[str, tuple[str, ...]]:
    """The inverse of :func:`encode_options`."""
    found: dict[str, tuple[str, ...]] = {}
    for item in filter(None, text.split(";")):
        name, _, names = item.partition("=")
        found[name] = tuple(filter(None, names.split(",")))
    return found


def zoo_server_ids() -> tuple[str, ...]:
    return tuple(ZOO_SERVERS)


def zoo_peer_specs() -> dict[str, PeerSpec]:
    """Peer id -> image of every zoo server and client, for the Docker launcher's image checks
    (`harness peers list`)."""
    from harness.peers.docker import PeerSpec

    specs = {peer_id: server.spec for peer_id, server in ZOO_SERVERS.items()}
    for client_id, client in ZOO_CLIENTS.items():
        suite, _, variant = client.tag.partition("-")
        specs[client_id] = PeerSpec(client.kind, suite, variant)
    return specs


def client_key_types() -> dict[str, tuple[str, ...]]:
    """Product -> user key types its server accepts (merged into the registry's table)."""
    return {server.product: server.user_keys for server in ZOO_SERVERS.values()}


def products_without_subsystems() -> frozenset[str]:
    return frozenset(s.product for s in ZOO_SERVERS.values() if not s.subsystems)


def offers_cache() -> Path:
    """Where each start records what the server offered (so `harness peers list` can show it
    without starting every peer): JSON, peer id -> {"banner", "image_id", KEXINIT fields}."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "harness" / "zoo-offers.json"


def recorded_offers() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(offers_cache().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def capabilities(peer_id: str) -> str:
    """One line for `harness peers list`: auth methods, subsystems, and what the last start's
    KEXINIT probe saw (counts and the first choice of each list)."""
    if peer_id in ZOO_CLIENTS:
        client = ZOO_CLIENTS[peer_id]
        logins = "key or password" if client.password_login else "key"
        return (f"--client-peer: exec, {logins} login; client keys {','.join(client.user_keys)}"
                + (f"; {client.notes}" if client.notes else ""))
    server = ZOO_SERVERS[peer_id]
    line = f"auth {server.auth_methods}; subsystems {','.join(server.subsystems) or 'none'}"
    offer = recorded_offers().get(peer_id)
    if not offer:
        return line + "; offer not probed yet (start it once)"
    for key, label in (("kex", "kex"), ("host_key", "host keys"), ("cipher_c2s", "ciphers"), ("mac_c2s", "macs")):
        names = [n for n in offer.get(key, []) if not n.startswith(("ext-info-", "kex-strict-"))]
        line += f"; {label} {len(names)} ({names[0] if names else '-'}...)"
    return line


# --------------------------------------------------------------------------------------------
# Client peers


@dataclass(frozen=True)
class ZooClient:
    """One zoo client peer: a command in a zoo image that logs in and runs one command.

    Every zoo client has the same command line (one contract for the client-peer runner)::

        PROGRAM -p {port} -l {user} -i {key} [-known-hosts {known_hosts}] {host} {command}
        PROGRAM -p {port} -l {user} -password-env HARNESS_PASSWORD [-known-hosts ...] {host} {command}

    It runs ``{command}`` with its own stdin, stdout and stderr and exits with the remote exit
    status (255: the connection or the login failed); without ``-known-hosts`` it accepts any
    host key. Paths are as seen in the container (the runner mounts its share at /harness);
    ``KEY.pub`` must sit beside ``KEY`` (the Erlang client reads the key type from it).
    ``user_keys`` are the client key names (:func:`harness.peers.base.client_keys`) it can load.
    """

    client_id: str
    kind: str
    tag: str
    program: str
    product: str
    version: str
    user_keys: tuple[str, ...] = ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem")
    notes: str = ""
    password_login: bool = True  # False: -password-env is refused (exit 255)
    checks_known_hosts: bool = True  # False: -known-hosts is refused, host keys go unverified
    # As a scenario client peer (harness.scenario.client_target): the host key type our server
    # must sign with ("ed25519", "ecdsa", "rsa") and algorithms it must add to its default offer
    # (ConnectionConfig field -> names) for this client to log in at all.
    server_host_key: str = "ed25519"
    server_algorithms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Options the scenario runner adds to argv (before HOST), e.g. libssh's cipher list.
    scenario_options: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        return f"harness-peer/{self.kind}:{self.tag}"

    def argv(self, *, host: str, port: int, user: str, command: str, key: str | None = None,
             known_hosts: str | None = None, options: tuple[str, ...] = ()) -> list[str]:
        """The client's command line: key login with ``key``, else password login (the runner
        sets HARNESS_PASSWORD in the container's environment); ``options`` go before HOST."""
        if key is None and not self.password_login:
            raise ValueError(f"{self.client_id} has no password login; give a key")
        if known_hosts is not None and not self.checks_known_hosts:
            raise ValueError(f"{self.client_id} cannot check a known_hosts file; give none")
        argv = [self.program, "-p", str(port), "-l", user]
        argv += ["-i", key] if key is not None else ["-password-env", "HARNESS_PASSWORD"]
        if known_hosts is not None:
            argv += ["-known-hosts", known_hosts]
        return [*argv, *options, host, command]


ZOO_CLIENTS: dict[str, ZooClient] = {c.client_id: c for c in (
    ZooClient("go-x-crypto-0.4-client", "zoo-go", "bookworm", "/usr/local/bin/go-ssh-client", "go", "0.4.0",
              notes="unencrypted keys only"),
    # libssh 0.10.6's stock cipher lists end with a comma (an empty name; our strict decoder
    # refuses that KEXINIT): as a scenario client peer it gets the same ciphers explicitly.
    ZooClient("libssh-0.10.6-client", "zoo-libssh", "bookworm", "/usr/local/bin/libssh-client", "libssh", "0.10.6",
              scenario_options=("-ciphers", "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
                                "aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr")),
    ZooClient("libssh2-1.10.0-client", "zoo-libssh", "bookworm", "/usr/local/bin/libssh2-client", "libssh2",
              "1.10.0"),
    ZooClient("node-ssh2-1.17.0-client", "zoo-node", "bookworm", "/usr/local/bin/node-ssh-client", "ssh2js",
              "1.17.0"),
    ZooClient("asyncssh-2.24.1-client", "zoo-python", "bookworm-pypi", "/usr/local/bin/asyncssh-client",
              "asyncssh", "2.24.1", notes="reads its stdin to the end before sending it"),
    ZooClient("paramiko-5.1.0-client", "zoo-python", "bookworm-pypi", "/usr/local/bin/paramiko-client",
              "paramiko", "5.1.0", notes="reads its stdin to the end before sending it"),
    ZooClient("asyncssh-2.10.1-client", "zoo-python", "bookworm", "/usr/local/bin/asyncssh-client",
              "asyncssh", "2.10.1", notes="reads its stdin to the end before sending it"),
    ZooClient("paramiko-2.12.0-client", "zoo-python", "bookworm", "/usr/local/bin/paramiko-client",
              "paramiko", "2.12.0", notes="reads its stdin to the end before sending it"),
    ZooClient("conch-26.10.0-client", "zoo-python", "bookworm-pypi", "/usr/local/bin/conch-client", "conch",
              "26.10.0", notes="reads its stdin to the end before sending it"),
    ZooClient("conch-22.4.0-client", "zoo-python", "bookworm", "/usr/local/bin/conch-client", "conch",
              "22.4.0", notes="reads its stdin to the end before sending it"),
    ZooClient("net-ssh-7.0.1-client", "zoo-ruby", "bookworm", "/usr/local/bin/net-ssh-client", "net-ssh", "7.0.1",
              user_keys=("rsa-pem", "ed25519"),
              notes="no curve25519 (Debian has no x25519 gem); under OpenSSL 3 it reads RSA keys only in "
                    "PEM and fails to sign with OpenSSH-format ECDSA keys; reads its stdin to the end first"),
    ZooClient("jsch-0.1.54-client", "zoo-java", "bookworm", "/usr/local/bin/jsch-client", "jsch", "0.1.54",
              user_keys=("rsa-pem",), server_host_key="ecdsa",
              notes="no curve25519 or Ed25519: needs ecdh-sha2-nistp256 or DH, an ECDSA or RSA host key, "
                    "an RSA user key in PEM (signed with ssh-rsa, SHA-1)"),
    ZooClient("lsh-2.1-client", "zoo-lsh", "bookworm", "/usr/local/bin/lsh-client-run", "lsh", "2.1",
              user_keys=("rsa-pem",), password_login=False, checks_known_hosts=False, server_host_key="rsa",
              server_algorithms=(("kex", ("diffie-hellman-group14-sha1",)), ("host_key_algorithms", ("ssh-rsa",)),
                                 ("ciphers", ("aes256-cbc",)), ("macs", ("hmac-sha1",))),
              notes="key login only (lsh asks for passwords on a tty); host keys not verified (-known-hosts "
                    "refused: lsh keeps them as SPKI ACLs); SHA-1 DH, CBC ciphers, hmac-sha1/md5"),
    ZooClient("erlang-ssh-4.15.2-client", "zoo-erlang", "bookworm", "/usr/local/bin/erlang-ssh-client", "erlang",
              "4.15.2", user_keys=("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem"),
              notes="reads its stdin to the end before sending it"),
)}


def zoo_client_ids() -> tuple[str, ...]:
    return tuple(ZOO_CLIENTS)
