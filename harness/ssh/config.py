"""Connection configuration: algorithm preferences and limits, one source of truth.

Why a frozen-ish dataclass: a connection reads its preferences once per key exchange; the
facade's ``get_security_options()`` edits them between exchanges through validated setters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.ssh import limits

HostKeyVerifier = Callable[[str, bytes], None]
"""Called with (host key algorithm, host key blob); raises HostKeyMismatch to refuse."""


def _default_kex() -> tuple[str, ...]:
    from harness.ssh.kex.methods import DEFAULT_KEX

    return DEFAULT_KEX


def _default_ciphers() -> tuple[str, ...]:
    from harness.ssh.crypto.protection import DEFAULT_CIPHERS

    return DEFAULT_CIPHERS


def _default_macs() -> tuple[str, ...]:
    from harness.ssh.crypto.protection import DEFAULT_MACS

    return DEFAULT_MACS


def _default_host_keys() -> tuple[str, ...]:
    from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

    return tuple(a for a in SUPPORTED_HOST_KEY_ALGORITHMS if a not in ("ssh-dss",))


# What a server offers by default: what OpenSSH's sshd offers by default (`sshd -T`), so real
# clients pointed at us negotiate what they would with sshd: our client defaults plus the
# plain-named sntrup761x25519-sha512 and the umac MACs, minus SHA-1 RSA signatures (sshd
# dropped them in 8.8).
def server_default_kex() -> tuple[str, ...]:
    from harness.ssh.kex.methods import KEX_METHODS

    client = _default_kex()
    return tuple(k for k in KEX_METHODS if k in client or k == "sntrup761x25519-sha512")


def server_default_macs() -> tuple[str, ...]:
    """Our client's defaults plus the umac MACs sshd offers (pure Python here, so not our
    client's own choice; a client that prefers them, as OpenSSH's does, gets them)."""
    from harness.ssh.crypto.protection import MACS

    return _default_macs() + tuple(n for n in MACS if n.startswith("umac-"))


def server_default_host_keys() -> tuple[str, ...]:
    return tuple(a for a in _default_host_keys() if a != "ssh-rsa")


# The hardened offer (`harness serve --hardened`): the defaults minus what ssh-audit rates "fail"
# (NIST-curve ECDH and ECDSA host keys). tests/integration/test_ssh_audit.py holds it to that.
def hardened_server_kex() -> tuple[str, ...]:
    return tuple(k for k in server_default_kex() if not k.startswith("ecdh-sha2-nistp"))


def hardened_server_host_keys() -> tuple[str, ...]:
    return tuple(a for a in server_default_host_keys() if not a.startswith("ecdsa-"))


@dataclass
class ConnectionConfig:
    kex: tuple[str, ...] = field(default_factory=_default_kex)
    host_key_algorithms: tuple[str, ...] = field(default_factory=_default_host_keys)
    ciphers: tuple[str, ...] = field(default_factory=_default_ciphers)
    macs: tuple[str, ...] = field(default_factory=_default_macs)
    compression: tuple[str, ...] = ("none", "zlib@openssh.com", "zlib")
    software_version: str = "harness_0.1"
    strict_kex: bool = True
    # Client: send our first kex packet with KEXINIT (first_kex_packet_follows), RFC 4253 7.
    kex_guess: bool = False
    ext_info: bool = True
    rekey_bytes: int = limits.DEFAULT_REKEY_BYTES
    rekey_packets: int = limits.DEFAULT_REKEY_PACKETS
    window_size: int = limits.DEFAULT_WINDOW
    max_packet: int = limits.DEFAULT_MAX_PACKET
    # Client: checks the server's host key before the key exchange completes. None accepts any
    # key and is only for tests that say so explicitly (the facade always installs one).
    host_key_verifier: HostKeyVerifier | None = None
    # Server: private host keys (harness.ssh.keys PKey objects); several types at once, the
    # client's choice of algorithm decides which one signs.
    server_host_keys: list[Any] = field(default_factory=list)
    # Server: group-exchange moduli (harness.ssh.kex.moduli.Moduli); None = the fixed groups.
    moduli: Any = None
    # Client: sign publickey requests with an RSA key using SHA-1 ("ssh-rsa") when the server's
    # server-sig-algs lists no rsa-sha2-* (or it sends none, as servers before RFC 8308 did).
    # Off by default: then rsa-sha2-512 is used, as current OpenSSH and paramiko do.
    rsa_sha1_signatures: bool = False
    # Server: text sent as USERAUTH_BANNER before the first auth reply (None = no banner).
    auth_banner: str | None = None
    # Security-option categories the application set explicitly (role defaults leave them be).
    explicit: set[str] = field(default_factory=set)
    # Emit a MessageReceived event for every incoming message (scenarios, transcripts).
    emit_messages: bool = False
    # Observer mode (the scenario path): a well-framed message our normal core would refuse
    # (out of phase, malformed, a kex that cannot be negotiated or verified) is reported as a
    # PeerViolation event and dropped instead of ending the connection, so the scenario keeps
    # watching what the *peer* does. Framing and MAC errors still end it: the stream is lost.
    observe: bool = False
    # How this side reacts to what the peer gets wrong. These exist so that the scenario
    # self-check can build reference peers with contrasting behaviours from our own server
    # (harness/scenario/selfcheck.py); the defaults are what the RFCs ask for.
    # on_error: "disconnect" (queue DISCONNECT with the reason code, the RFC way), "close"
    # (end without a word), "mute" (stop reading and answering; the peer sees silence).
    on_error: str = "disconnect"
    # unknown_messages: what to do with a message number or channel type we do not know:
    # "unimplemented" (UNIMPLEMENTED, RFC 4253 11.4; OPEN_FAILURE UNKNOWN_CHANNEL_TYPE, RFC 4254
    # 5.1), "ignore" (no answer), or "violation" (refuse as a protocol error).
    unknown_messages: str = "unimplemented"
    # Answer GLOBAL_REQUESTs (False: UNIMPLEMENTED, as tinysshd does; both roles, for the
    # self-check's reference peers).
    answer_global_requests: bool = True
    # Refuse what receivers must tolerate (harness/ssh/pedantic.py; the self-check's "pedant").
    pedantic: bool = False
    # Scenario seam: message numbers the core reports (MessageReceived, with emit_messages) but
    # does not handle, so that a scenario answers them by hand (a server-role scenario playing
    # authentication wrongly: SERVICE_REQUEST, USERAUTH_REQUEST). Empty in normal use.
    held_messages: frozenset[int] = frozenset()

    def apply_server_defaults(self) -> None:
        """Switch the lists the application did not set to the server defaults."""
        if "kex" not in self.explicit:
            self.kex = server_default_kex()
        if "host_key_algorithms" not in self.explicit:
            self.host_key_algorithms = server_default_host_keys()
        if "macs" not in self.explicit:
            self.macs = server_default_macs()
