"""Client side of user authentication (RFC 4252, RFC 4256 keyboard-interactive).

Why a separate object: the auth method in progress decides how message numbers 60-79 decode
(PK_OK vs PASSWD_CHANGEREQ vs INFO_REQUEST); this object owns that context and the rule that
USERAUTH_SUCCESS moves the connection to the authenticated phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.ssh import events as ev
from harness.ssh.errors import LocalProtocolError, RemoteProtocolError
from harness.ssh.limits import MAX_KBDINT_PROMPTS
from harness.ssh.wire import messages as m
from harness.ssh.wire.codec import Writer
from harness.ssh.wire.message import Message

if TYPE_CHECKING:
    from harness.ssh.connection import Connection

SERVICE_USERAUTH = "ssh-userauth"
SERVICE_CONNECTION = "ssh-connection"


def publickey_signed_data(session_id: bytes, user: str, algorithm: str, key_blob: bytes) -> bytes:
    """The bytes a publickey request signs (RFC 4252 section 7)."""
    w = Writer().string(session_id).byte(50).text(user).text(SERVICE_CONNECTION).text("publickey")
    return w.boolean(True).text(algorithm).string(key_blob).getvalue()


def choose_rsa_algorithm(server_sig_algs: tuple[str, ...] | None, allow_sha1: bool = False) -> str:
    """The signature algorithm for an RSA user key (RFC 8332, RFC 8308 server-sig-algs).

    A SHA-2 algorithm the server lists wins (512 before 256). Without one, SHA-1 "ssh-rsa" only
    when ``allow_sha1`` (ConnectionConfig.rsa_sha1_signatures) says so; otherwise rsa-sha2-512,
    as OpenSSH and paramiko do: servers that omit server-sig-algs (OpenSSH 7.4 has that bug)
    mostly verify SHA-2, and OpenSSH 8.8 and later refuse SHA-1 signatures by default.
    """
    for alg in ("rsa-sha2-512", "rsa-sha2-256"):
        if server_sig_algs is not None and alg in server_sig_algs:
            return alg
    return "ssh-rsa" if allow_sha1 else "rsa-sha2-512"


class ClientAuth:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.service_requested = False
        self.service_accepted = False
        self.method: str | None = None  # method awaiting a reply
        self.authenticated = False
        self.server_sig_algs: tuple[str, ...] | None = None

    @property
    def context(self) -> str | None:
        return self.method

    def request_service(self) -> None:
        if not self.service_requested:
            self.service_requested = True
            self.conn.send_message(m.ServiceRequest(service=SERVICE_USERAUTH))

    def _begin(self, method: str, msg: Message) -> None:
        if self.authenticated:
            raise LocalProtocolError("already authenticated")
        if self.method is not None:
            raise LocalProtocolError(f"an authentication request ({self.method}) is still awaiting its reply")
        self.request_service()
        self.method = method
        self.conn.send_message(msg)

    def none(self, user: str) -> None:
        self._begin("none", m.UserauthRequestNone(user=user, service=SERVICE_CONNECTION))

    def password(self, user: str, password: str) -> None:
        self._begin("password", m.UserauthRequestPassword(user=user, service=SERVICE_CONNECTION,
                                                           change=False, password=password))  # fmt: skip

    def publickey(self, user: str, key: Any, algorithm: str | None = None) -> None:
        """Send a signed publickey request with ``key`` (a harness.ssh.keys private key)."""
        if algorithm is None:
            algorithm = key.get_name()
            if algorithm == "ssh-rsa":
                algorithm = choose_rsa_algorithm(self.server_sig_algs, self.conn.config.rsa_sha1_signatures)
        blob = key.asbytes()
        sid = self.conn.session_id
        if sid is None:
            raise LocalProtocolError("publickey authentication before the key exchange finished")
        signature = key.sign(publickey_signed_data(sid, user, algorithm, blob), algorithm)
        self._begin("publickey", m.UserauthRequestPublickey(user=user, service=SERVICE_CONNECTION,
                    has_signature=True, algorithm=algorithm, key_blob=blob, signature=signature))  # fmt: skip

    def publickey_query(self, user: str, algorithm: str, key_blob: bytes) -> None:
        """Ask whether a key would be accepted, without signing (USERAUTH_PK_OK or FAILURE)."""
        self._begin("publickey", m.UserauthRequestPublickey(user=user, service=SERVICE_CONNECTION,
                    has_signature=False, algorithm=algorithm, key_blob=key_blob))  # fmt: skip

    def keyboard_interactive(self, user: str, submethods: str = "") -> None:
        self._begin("keyboard-interactive", m.UserauthRequestKeyboardInteractive(
            user=user, service=SERVICE_CONNECTION, language="", submethods=submethods))  # fmt: skip

    def info_response(self, responses: list[str] | tuple[str, ...]) -> None:
        if self.method != "keyboard-interactive":
            raise LocalProtocolError("no keyboard-interactive exchange is in progress")
        self.conn.send_message(m.UserauthInfoResponse(responses=tuple(responses)))

    # -- server messages -------------------------------------------------------------------

    def on_service_accept(self, msg: Message) -> None:
        if not self.service_requested or self.service_accepted:
            raise RemoteProtocolError("SERVICE_ACCEPT that we did not ask for")
        if msg.service != SERVICE_USERAUTH:
            raise RemoteProtocolError(f"SERVICE_ACCEPT for {msg.service!r}, we asked for {SERVICE_USERAUTH!r}")
        self.service_accepted = True
        self.conn.emit(ev.ServiceAccepted(msg.service))

    def _expect_reply(self, msg: Message) -> None:
        if self.method is None:
            raise RemoteProtocolError(f"{msg.NAME} without an authentication request")
        if not self.service_accepted:
            raise RemoteProtocolError(f"{msg.NAME} before SERVICE_ACCEPT")

    def on_failure(self, msg: Message) -> None:
        self._expect_reply(msg)
        self.method = None
        self.conn.emit(ev.AuthFailure(msg.methods, msg.partial_success))

    def on_success(self, msg: Message) -> None:
        self._expect_reply(msg)
        self.method = None
        self.authenticated = True
        self.conn.auth_succeeded()
        self.conn.emit(ev.AuthSuccess())

    def on_banner(self, msg: Message) -> None:
        if self.authenticated:
            raise RemoteProtocolError("USERAUTH_BANNER after authentication succeeded")
        self.conn.emit(ev.AuthBanner(msg.message))

    def on_method_message(self, msg: Message) -> None:
        self._expect_reply(msg)
        if isinstance(msg, m.UserauthPkOk):
            self.method = None
            self.conn.emit(ev.AuthPublicKeyOk(msg.algorithm, msg.key_blob))
        elif isinstance(msg, m.UserauthPasswdChangereq):
            self.method = None
            self.conn.emit(ev.AuthPasswordChangeRequired(msg.prompt))
        elif isinstance(msg, m.UserauthInfoRequest):
            if len(msg.prompts) > MAX_KBDINT_PROMPTS:
                raise RemoteProtocolError(f"INFO_REQUEST with {len(msg.prompts)} prompts (limit {MAX_KBDINT_PROMPTS})")
            self.conn.emit(ev.AuthInfoRequest(msg.name, msg.instruction, tuple(msg.prompts)))
        else:
            raise RemoteProtocolError(f"{msg.NAME} is not valid for the {self.method} method")
