"""Interop steps against a real peer, and the interop matrix behind `harness interop`.

The integration tests and the command line use the same steps: connect with given algorithms,
run a command, move data through remote `cat` and check it byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import threading

from harness.peers.base import PeerInfo
from harness.ssh.config import ConnectionConfig
from harness.ssh.keys import HostKeys, load_private_key_file
from harness.transport import Transport


def authenticate(t: Transport, peer: PeerInfo, auth: str | None = None, key_name: str = "ed25519") -> None:
    """Log in to ``peer``; ``auth`` None picks password where offered, else the Ed25519 key."""
    if auth is None:
        from harness.peers.registry import info_supports_password

        auth = "password" if info_supports_password(peer) else "publickey"
    if auth == "password":
        t.auth_password(peer.username, peer.password)
    elif auth == "publickey":
        from harness.peers.base import CLIENT_KEY_PASSPHRASE

        password = CLIENT_KEY_PASSPHRASE if key_name.endswith("encrypted") else None
        t.auth_publickey(peer.username, load_private_key_file(str(peer.client_keys[key_name]), password))
    elif auth == "interactive":
        t.auth_interactive_dumb(peer.username, peer.password)
    elif auth != "none":
        raise ValueError(f"unknown auth kind {auth!r}")


def connect(peer: PeerInfo, *, auth: str | None = None, key_name: str = "ed25519",
            **algorithms: tuple[str, ...]) -> Transport:  # fmt: skip
    """A Transport authenticated to ``peer`` (see :func:`authenticate`); ``algorithms`` sets
    security options by name. The host key is checked against the peer's known_hosts."""
    # Peers that predate RFC 8332 (GNU lsh) verify only SHA-1 "ssh-rsa" user signatures.
    sha1 = peer.extra.get("rsa_sha1_signatures") == "1"
    t = Transport(peer.address, config=ConnectionConfig(rsa_sha1_signatures=True) if sha1 else None)
    opts = t.get_security_options()
    for name, value in {**login_algorithms(peer), **algorithms}.items():
        setattr(opts, name, value)
    host_keys = HostKeys()
    host_keys.load(str(peer.known_hosts))
    try:
        t.connect(host_keys=host_keys, hostname=peer.host, port=peer.port)
        if peer.extra.get("service_accept_first") == "1":  # PuTTY's Uppity 0.78 (harness.peers.zoo)
            t.wait_for_service_accept()
        authenticate(t, peer, auth, key_name)
    except BaseException:
        t.close()
        raise
    return t


def login_algorithms(peer: PeerInfo) -> dict[str, tuple[str, ...]]:
    """Security options a peer needs for any login at all (``extra["login_algorithms"]``, e.g.
    ``kex=diffie-hellman-group14-sha1;ciphers=aes256-cbc`` for GNU lsh, whose whole offer is
    outside our defaults); options a caller forces win over them."""
    from harness.peers.zoo import decode_options

    return decode_options(peer.extra.get("login_algorithms", ""))


def run(t: Transport, command: str, stdin: bytes = b"", timeout: float = 30.0) -> tuple[bytes, bytes, int]:
    """exec ``command``; returns (stdout, stderr, exit status)."""
    chan = t.open_session()
    chan.settimeout(timeout)
    chan.exec_command(command)
    if stdin:
        chan.sendall(stdin)
    chan.shutdown_write()
    out, err = bytearray(), bytearray()
    while True:
        data = chan.recv(65536)
        if not data:
            break
        out += data
    while True:
        data = chan.recv_stderr(65536)
        if not data:
            break
        err += data
    status = chan.recv_exit_status()
    chan.close()
    return bytes(out), bytes(err), status


def echo_transfer(t: Transport, nbytes: int, rekey_at: int | None = None, timeout: float = 120.0) -> None:
    """Send ``nbytes`` through remote ``cat`` and check the echo byte for byte (SHA-256).

    Both directions move ``nbytes``; with ``rekey_at`` a key re-exchange is forced once that
    many bytes have been sent, while data is in flight both ways.
    """
    chan = t.open_session()
    chan.settimeout(timeout)
    chan.exec_command("cat")
    block = os.urandom(1 << 20)
    sent_hash = hashlib.sha256()
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            sent = 0
            rekeyed = False
            while sent < nbytes:
                chunk = block[: min(len(block), nbytes - sent)]
                chan.sendall(chunk)
                sent_hash.update(chunk)
                sent += len(chunk)
                if rekey_at is not None and not rekeyed and sent >= rekey_at:
                    t.renegotiate_keys(timeout=timeout)
                    rekeyed = True
            chan.shutdown_write()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    recv_hash = hashlib.sha256()
    received = 0
    while True:
        data = chan.recv(1 << 20)
        if not data:
            break
        recv_hash.update(data)
        received += len(data)
    thread.join(timeout)
    if errors:
        raise errors[0]
    assert received == nbytes, f"received {received} of {nbytes} bytes"
    assert recv_hash.hexdigest() == sent_hash.hexdigest(), "echoed data differs from what was sent"
    assert chan.recv_exit_status() == 0
    chan.close()


# == the matrix =================================================================================

PEER_KEYS = {
    "kex": ("kex",),
    "key_types": ("host_key",),
    "ciphers": ("cipher_c2s", "cipher_s2c"),
    "digests": ("mac_c2s", "mac_s2c"),
    "compression": ("compression_c2s", "compression_s2c"),
}


def peer_offers(peer: PeerInfo, category: str, algorithm: str) -> bool:
    """Whether the running peer offered ``algorithm`` in its KEXINIT (both directions)."""
    return all(algorithm in peer.algorithms.get(key, ()) for key in PEER_KEYS[category])


MAC_CIPHERS = ("aes128-ctr", "aes256-ctr", "aes128-cbc", "aes256-cbc", "3des-cbc")


def mac_cipher(peer: PeerInfo) -> str | None:
    """A non-AEAD cipher the peer offers, so that a MAC is really used (None: AEAD only)."""
    return next((c for c in MAC_CIPHERS if peer_offers(peer, "ciphers", c)), None)


def options_for(peer: PeerInfo, category: str, algorithm: str) -> dict[str, tuple[str, ...]]:
    """Security options that force ``algorithm`` (and a real MAC-using cipher for MAC tests)."""
    options: dict[str, tuple[str, ...]] = {category: (algorithm,)}
    if category == "digests":
        cipher = mac_cipher(peer)
        if cipher is None:
            raise ValueError(f"{peer.peer_id} offers only AEAD ciphers: no MAC is ever used with it")
        options["ciphers"] = (cipher,)
    return options


def not_applicable(peer: PeerInfo, category: str, algorithm: str) -> str | None:
    """Why (category, algorithm) cannot be tested against ``peer``, or None if it can."""
    if not peer_offers(peer, category, algorithm):
        return f"{peer.peer_id} does not offer {category} {algorithm}"
    if category == "digests" and mac_cipher(peer) is None:
        return f"{peer.peer_id} offers {algorithm} but only AEAD ciphers, so no MAC is ever used"
    return None


def negotiated_value(t: Transport, category: str) -> str | None:
    info = t.negotiated
    assert info is not None
    return {
        "kex": info.kex,
        "key_types": info.host_key_algorithm,
        "ciphers": info.cipher_out,
        "digests": info.mac_out,
        "compression": info.compression_out,
    }[category]


def check_algorithm(peer: PeerInfo, category: str, algorithm: str, transfer: int = 256 * 1024) -> None:
    """Connect forcing one algorithm; on one session channel (tinysshd allows no more) check
    stdout, stderr, exit status and ``transfer`` bytes echoed through `cat`, byte for byte."""
    t = connect(peer, **options_for(peer, category, algorithm))
    try:
        got = negotiated_value(t, category)
        assert got == algorithm, f"negotiated {got}, expected {algorithm}"
        payload = os.urandom(transfer)
        out, err, status = run(t, "printf oops >&2; cat; exit 3", stdin=payload)
        assert (err, status) == (b"oops", 3), f"exec gave stderr {err!r}, status {status}"
        assert hashlib.sha256(out).digest() == hashlib.sha256(payload).digest(), (
            f"echo of {transfer} bytes came back as {len(out)} different bytes")
    finally:
        t.close()
