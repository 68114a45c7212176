"""Server side of user authentication (RFC 4252, RFC 4256).

The rules that matter for security live here: only "ssh-userauth" may be requested before
authentication; the user and service may not change mid-authentication; attempts are
bounded; a publickey signature must verify over this session's id before the policy is even
asked; and only USERAUTH_SUCCESS (sent by us) moves the connection to the authenticated phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.ssh import events as ev
from harness.ssh import policy as pol
from harness.ssh.auth.client import SERVICE_CONNECTION, SERVICE_USERAUTH, publickey_signed_data
from harness.ssh.errors import DecodeError, DisconnectReason, RemoteProtocolError
from harness.ssh.limits import MAX_AUTH_ATTEMPTS
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

if TYPE_CHECKING:
    from harness.ssh.connection import Connection


class ServerAuth:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.service_accepted = False
        self.authenticated = False
        self.username: str | None = None
        self.service: str | None = None
        self.failures = 0
        self.partial = False
        self.method: str | None = None  # "keyboard-interactive" while an INFO_REQUEST is out
        self.server_sig_algs: tuple[str, ...] | None = None  # unused on the server (client side API)
        self._banner_sent = False

    @property
    def context(self) -> str | None:
        return self.method

    def on_service_request(self, msg: Message) -> None:
        if msg.service != SERVICE_USERAUTH or self.service_accepted:
            raise RemoteProtocolError(f"service {msg.service!r} not available",
                                      DisconnectReason.SERVICE_NOT_AVAILABLE)  # fmt: skip
        self.service_accepted = True
        self.conn.send_message(m.ServiceAccept(service=SERVICE_USERAUTH))

    def _allowed(self, user: str) -> tuple[str, ...]:
        allowed = self.conn.policy.get_allowed_auths(user)
        return tuple(a for a in allowed.split(",") if a)

    def _fail(self, user: str) -> None:
        self.failures += 1
        if self.failures >= MAX_AUTH_ATTEMPTS:
            raise RemoteProtocolError(f"too many authentication failures for {user!r}",
                                      DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE)  # fmt: skip
        self.conn.send_message(m.UserauthFailure(methods=self._allowed(user), partial_success=self.partial))

    def _result(self, user: str, method: str, result: int) -> None:
        if result == pol.AUTH_SUCCESSFUL:
            self.authenticated = True
            self.method = None
            self.conn.send_message(m.UserauthSuccess())
            self.conn.auth_succeeded()
            self.conn.emit(ev.AuthSuccess())
            return
        if result == pol.AUTH_PARTIALLY_SUCCESSFUL:
            self.partial = True
            self.conn.send_message(m.UserauthFailure(methods=self._allowed(user), partial_success=True))
            return
        self._fail(user)

    def on_request(self, msg: Message) -> None:
        if self.authenticated:
            return  # RFC 4252 5.1: requests after success are ignored
        if not self.service_accepted:
            raise RemoteProtocolError("USERAUTH_REQUEST before SERVICE_REQUEST ssh-userauth")
        if msg.service != SERVICE_CONNECTION:
            raise RemoteProtocolError(f"authentication for unknown service {msg.service!r}",
                                      DisconnectReason.SERVICE_NOT_AVAILABLE)  # fmt: skip
        if self.username is None:
            self.username, self.service = msg.user, msg.service
        elif (msg.user, msg.service) != (self.username, self.service):
            raise RemoteProtocolError(
                f"change of user or service during authentication: ({self.username}, {self.service}) -> "
                f"({msg.user}, {msg.service})"
            )
        self.method = None
        user = msg.user
        policy = self.conn.policy
        banner = self.conn.config.auth_banner
        if banner is not None and not self._banner_sent:
            self._banner_sent = True
            self.conn.send_message(m.UserauthBanner(message=banner, language=""))
        method = msg.method
        if method != "none" and method not in self._allowed(user):
            self._fail(user)
            return
        if isinstance(msg, m.UserauthRequestNone):
            self._result(user, method, policy.check_auth_none(user))
        elif isinstance(msg, m.UserauthRequestPassword):
            if msg.change:
                self._fail(user)  # password changes are not supported by this server
                return
            self._result(user, method, policy.check_auth_password(user, msg.password))
        elif isinstance(msg, m.UserauthRequestPublickey):
            self._publickey(msg)
        elif isinstance(msg, m.UserauthRequestKeyboardInteractive):
            self._interactive(user, policy.check_auth_interactive(user, msg.submethods))
        else:
            self._fail(user)

    def _publickey(self, msg: Message) -> None:
        from harness.ssh.keys import key_type_for_algorithm, parse_public_key

        user = msg.user
        try:
            key = parse_public_key(msg.key_blob)
            wanted = key_type_for_algorithm(msg.algorithm)
        except (DecodeError, ValueError):
            self._fail(user)
            return
        if key.key_type != wanted:
            self._fail(user)
            return
        if not msg.has_signature:
            if self.conn.policy.check_auth_publickey(user, key) == pol.AUTH_SUCCESSFUL:
                self.conn.send_message(m.UserauthPkOk(algorithm=msg.algorithm, key_blob=msg.key_blob))
            else:
                self._fail(user)
            return
        sid = self.conn.session_id
        assert sid is not None
        data = publickey_signed_data(sid, user, msg.algorithm, msg.key_blob)
        try:
            valid = key.verify(msg.algorithm, data, msg.signature)
        except DecodeError:
            valid = False
        if not valid:
            self._fail(user)
            return
        self._result(user, "publickey", self.conn.policy.check_auth_publickey(user, key))

    def _interactive(self, user: str, result: int | pol.InteractiveQuery) -> None:
        if isinstance(result, pol.InteractiveQuery):
            self.method = "keyboard-interactive"
            self.conn.send_message(m.UserauthInfoRequest(name=result.name, instruction=result.instructions,
                                   language="", prompts=tuple(result.prompts)))  # fmt: skip
            return
        self._result(user, "keyboard-interactive", result)

    def on_method_message(self, msg: Message) -> None:
        if self.method != "keyboard-interactive" or not isinstance(msg, m.UserauthInfoResponse):
            raise RemoteProtocolError(f"{msg.NAME} without a keyboard-interactive exchange in progress")
        assert self.username is not None
        self._interactive(self.username, self.conn.policy.check_auth_interactive_response(list(msg.responses)))

    # The client-side API is absent on a server connection.
    def on_failure(self, msg: Message) -> None:  # pragma: no cover - gated by phases
        raise RemoteProtocolError("USERAUTH_FAILURE from a client")
