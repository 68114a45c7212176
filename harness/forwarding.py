"""Client side of TCP/IP port forwarding (RFC 4254 section 7) for :class:`harness.Transport`.

Remote forwarding: ``tcpip-forward`` asks the server to listen; every connection to that port
arrives as a ``forwarded-tcpip`` channel. Such a channel is accepted only for an
(address, port) we asked for and the server granted; anything else is refused with
ADMINISTRATIVELY_PROHIBITED, so a server cannot push connections at a client that never asked.

Why registration happens when the reply *arrives* (under the core lock) rather than when the
requesting thread wakes up: a server may send REQUEST_SUCCESS and the first forwarded-tcpip
CHANNEL_OPEN in one TCP segment; both are handled in one ``receive_data`` call, before the
waiting thread runs again. Matching the reply by its core token keeps this right however many
other global requests (keepalive probes) are in flight, since the core pairs replies with
requests in order.

Local forwarding needs nothing here: ``Transport.open_channel("direct-tcpip", dest, src)``.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.channel import Channel
from harness.ssh import events as ev
from harness.ssh.channels.table import OPEN_ADMINISTRATIVELY_PROHIBITED
from harness.ssh.errors import SSHException
from harness.ssh.printable import printable
from harness.ssh.wire import messages as m
from harness.ssh.wire.codec import Writer

if TYPE_CHECKING:
    from harness.transport import Transport

log = logging.getLogger("harness.forwarding")

# handler(channel, (origin_addr, origin_port), (server_addr, server_port))
ForwardHandler = Callable[[Channel, tuple[str, int], tuple[str, int]], Any]

# Addresses a server may report back differently from how we wrote them (OpenSSH echoes the
# request string, but "" / "localhost" / wildcard requests are what servers normalise). For
# these only, a forwarded-tcpip channel naming another address but our granted port matches.
_ALIASES = frozenset({"", "localhost", "0.0.0.0", "::", "127.0.0.1", "::1", "*"})


@dataclass
class _Pending:
    address: str
    port: int
    handler: ForwardHandler | None


class ForwardingManager:
    """Remote forwards of one client Transport. ``on_*`` methods run under the core lock."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self._pending: dict[int, _Pending] = {}  # core token of tcpip-forward -> request
        self.forwards: dict[tuple[str, int], ForwardHandler | None] = {}  # granted (address, port)

    # -- application side ------------------------------------------------------------------

    def request(self, address: str, port: int, handler: ForwardHandler | None, timeout: float | None) -> int:
        if not 0 <= port <= 0xFFFF:
            raise ValueError(f"port must be 0-65535, not {port}")
        t = self._t
        data = Writer().text(address).uint32(port).getvalue()

        def send() -> int:
            token = t._conn.global_request("tcpip-forward", True, data)
            assert token is not None
            self._pending[token] = _Pending(address, port, handler)
            return token

        token = t._call(send)
        try:
            t._wait(lambda: token in t._global_replies, timeout, f"reply to tcpip-forward {address}:{port}")
        finally:
            self._pending.pop(token, None)  # a late reply no longer registers a forward
        reply = t._global_replies.pop(token)
        if not reply.success:
            raise SSHException(f"server refused to forward {address}:{port} (tcpip-forward failed)")
        return _granted_port(port, reply.data)

    def cancel(self, address: str, port: int, timeout: float | None) -> None:
        t = self._t
        data = Writer().text(address).uint32(port).getvalue()

        def send() -> int:
            # Forget first: connections still arriving for it are refused from now on.
            self.forwards.pop((address, port), None)
            token = t._conn.global_request("cancel-tcpip-forward", True, data)
            assert token is not None
            return token

        token = t._call(send)
        t._wait(lambda: token in t._global_replies, timeout, f"reply to cancel-tcpip-forward {address}:{port}")
        if not t._global_replies.pop(token).success:
            raise SSHException(f"server refused to cancel the forward of {address}:{port}")

    # -- core events (under the lock) ---------------------------------------------------

    def on_global_reply(self, event: ev.GlobalReply) -> None:
        pending = self._pending.pop(event.token, None)
        if pending is None or not event.success:
            return
        try:
            port = _granted_port(pending.port, event.data)
        except SSHException:
            return  # request() raises the same error to the caller
        self.forwards[(pending.address, port)] = pending.handler

    def on_open_requested(self, event: ev.ChannelOpenRequested) -> None:
        t = self._t
        conn = t._conn
        msg = event.message
        if not isinstance(msg, m.ChannelOpenForwardedTcpip):
            conn.channels.reject_open(event.channel, OPEN_ADMINISTRATIVELY_PROHIBITED,
                                      f"{event.channel_type} channels are not accepted")  # fmt: skip
            return
        key = self._match(msg.address, msg.port)
        if key is None:
            log.warning("refusing forwarded-tcpip for %s:%d: no such forward was requested", printable(msg.address),
                        msg.port)  # fmt: skip
            conn.channels.reject_open(event.channel, OPEN_ADMINISTRATIVELY_PROHIBITED,
                                      f"no forward of {msg.address}:{msg.port} was requested")  # fmt: skip
            return
        handler = self.forwards[key]
        conn.channels.accept_open(event.channel)
        chan = t._new_server_channel(event.channel)
        origin = (msg.originator_address, msg.originator_port)
        server = (msg.address, msg.port)
        if handler is None:
            t._accept_queue.append(chan)
            return
        threading.Thread(target=_run_handler, args=(handler, chan, origin, server),
                         name=f"forward-{msg.port}", daemon=True).start()  # fmt: skip

    def _match(self, address: str, port: int) -> tuple[str, int] | None:
        if (address, port) in self.forwards:
            return (address, port)
        if address in _ALIASES:
            for key in self.forwards:
                if key[1] == port and key[0] in _ALIASES:
                    return key
        return None


def _granted_port(requested: int, data: bytes) -> int:
    """RFC 4254 7.1: a request for port 0 is answered with the port the server chose."""
    if requested != 0:
        return requested
    if len(data) < 4:
        raise SSHException("server accepted tcpip-forward for port 0 without saying which port it bound")
    return int(struct.unpack_from(">I", data)[0])


def _run_handler(handler: ForwardHandler, chan: Channel, origin: tuple[str, int], server: tuple[str, int]) -> None:
    try:
        handler(chan, origin, server)
    except Exception:
        log.exception("port forward handler failed for a connection from %s:%d", *origin)
        try:
            chan.close()
        except Exception:
            pass
