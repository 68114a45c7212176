"""Server mode of the facade: paramiko's ``ServerInterface`` and ``SubsystemHandler``.

``ServerInterface`` is what applications subclass; every default denies (paramiko's defaults),
except that a subsystem registered with ``Transport.set_subsystem_handler`` is served.
``PolicyAdapter`` turns the core's id-based policy calls into ServerInterface calls with
``Channel`` objects. Callbacks run on the transport's reader thread while the core is locked:
they must decide quickly and must not block on or call back into the transport; work that
talks to the channel (running a command, a subsystem) goes to its own thread.
"""

from __future__ import annotations

import logging
import struct
import threading
from typing import TYPE_CHECKING, Any

from harness.ssh import policy as pol
from harness.ssh.policy import (
    AUTH_FAILED,
    AUTH_PARTIALLY_SUCCESSFUL,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_FAILED_RESOURCE_SHORTAGE,
    OPEN_FAILED_UNKNOWN_CHANNEL_TYPE,
    OPEN_SUCCEEDED,
    InteractiveQuery,
)
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

if TYPE_CHECKING:
    from harness.channel import Channel
    from harness.transport import Transport

log = logging.getLogger("harness.server")

__all__ = [
    "AUTH_FAILED", "AUTH_PARTIALLY_SUCCESSFUL", "AUTH_SUCCESSFUL", "OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED",
    "OPEN_FAILED_CONNECT_FAILED", "OPEN_FAILED_RESOURCE_SHORTAGE", "OPEN_FAILED_UNKNOWN_CHANNEL_TYPE",
    "OPEN_SUCCEEDED", "InteractiveQuery", "ServerInterface", "SubsystemHandler",
]  # fmt: skip


class ServerInterface:
    """Override what your server allows; everything else is refused."""

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: Any) -> int:
        return AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        return AUTH_FAILED

    def check_auth_interactive_response(self, responses: list[str]) -> int | InteractiveQuery:
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        return False

    def check_channel_shell_request(self, channel: Channel) -> bool:
        return False

    def check_channel_pty_request(self, channel: Channel, term: str, width: int, height: int,
                                  pixelwidth: int, pixelheight: int, modes: bytes) -> bool:  # fmt: skip
        return False

    def check_channel_env_request(self, channel: Channel, name: str, value: str) -> bool:
        return False

    def check_channel_window_change_request(self, channel: Channel, width: int, height: int,
                                            pixelwidth: int, pixelheight: int) -> bool:  # fmt: skip
        return False

    def check_channel_signal_request(self, channel: Channel, signal: str) -> bool:
        return False

    def check_channel_subsystem_request(self, channel: Channel, name: str) -> bool:
        """Serve a subsystem registered with set_subsystem_handler (paramiko's default)."""
        return channel.transport._start_subsystem(channel, name)

    def check_global_request(self, kind: str, msg: Message) -> bool | tuple[Any, ...]:
        return False

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        return False

    def cancel_port_forward_request(self, address: str, port: int) -> bool | None:
        """Stop a remote forward; return False if none was there (the reply is REQUEST_FAILURE)."""
        return None

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:  # fmt: skip
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class SubsystemHandler(threading.Thread):
    """Serves one subsystem on one channel in its own thread (paramiko's shape)."""

    def __init__(self, channel: Channel, name: str, server: ServerInterface, *args: Any, **kwargs: Any) -> None:
        super().__init__(name=f"subsystem-{name}", daemon=True)
        self.channel = channel
        self.subsystem_name = name
        self.server = server

    def run(self) -> None:
        try:
            self.start_subsystem(self.subsystem_name, self.channel.transport, self.channel)
        except Exception:
            log.exception("subsystem %s failed", self.subsystem_name)
        finally:
            self.finish_subsystem()

    def get_server(self) -> ServerInterface:
        return self.server

    def start_subsystem(self, name: str, transport: Transport, channel: Channel) -> None:
        raise NotImplementedError("subclasses serve the subsystem here")

    def finish_subsystem(self) -> None:
        self.channel.close()


class PolicyAdapter(pol.ServerPolicy):
    """The core's policy, answered by a ServerInterface with Channel objects."""

    def __init__(self, transport: Transport, server: ServerInterface) -> None:
        self.t = transport
        self.server = server

    def get_allowed_auths(self, username: str) -> str:
        return self.server.get_allowed_auths(username)

    def check_auth_none(self, username: str) -> int:
        return self._auth(username, self.server.check_auth_none(username))

    def check_auth_password(self, username: str, password: str) -> int:
        return self._auth(username, self.server.check_auth_password(username, password))

    def check_auth_publickey(self, username: str, key: Any) -> int:
        return self._auth(username, self.server.check_auth_publickey(username, key))

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        self.t._pending_user = username
        result = self.server.check_auth_interactive(username, submethods)
        return result if isinstance(result, InteractiveQuery) else self._auth(username, result)

    def check_auth_interactive_response(self, responses: list[str]) -> int | InteractiveQuery:
        result = self.server.check_auth_interactive_response(responses)
        if isinstance(result, InteractiveQuery):
            return result
        return self._auth(self.t._pending_user or "", result)

    def _auth(self, username: str, result: int) -> int:
        if result == AUTH_SUCCESSFUL:
            self.t._username = username
        return result

    def check_channel_request(self, kind: str, chanid: int) -> int:
        result = self.server.check_channel_request(kind, chanid)
        if result == OPEN_SUCCEEDED:
            self.t._new_server_channel(chanid)
        return result

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:  # fmt: skip
        result = self.server.check_channel_direct_tcpip_request(chanid, origin, destination)
        if result == OPEN_SUCCEEDED:
            self.t._new_server_channel(chanid)
        return result

    def check_channel_request_message(self, chanid: int, msg: Message) -> bool:
        chan = self.t._channels.get(chanid)
        if chan is None:
            return False
        s = self.server
        if isinstance(msg, m.ChannelRequestExec):
            return bool(s.check_channel_exec_request(chan, msg.command))
        if isinstance(msg, m.ChannelRequestShell):
            return bool(s.check_channel_shell_request(chan))
        if isinstance(msg, m.ChannelRequestPty):
            return bool(s.check_channel_pty_request(chan, msg.term, msg.width_chars, msg.height_rows,
                                                    msg.width_pixels, msg.height_pixels, msg.modes))  # fmt: skip
        if isinstance(msg, m.ChannelRequestEnv):
            return bool(s.check_channel_env_request(chan, msg.name, msg.value))
        if isinstance(msg, m.ChannelRequestSubsystem):
            return bool(s.check_channel_subsystem_request(chan, msg.subsystem))
        if isinstance(msg, m.ChannelRequestWindowChange):
            return bool(s.check_channel_window_change_request(chan, msg.width_chars, msg.height_rows,
                                                              msg.width_pixels, msg.height_pixels))  # fmt: skip
        if isinstance(msg, m.ChannelRequestSignal):
            return bool(s.check_channel_signal_request(chan, msg.signal))
        return False

    def check_global_request(self, kind: str, msg: Message) -> bool | bytes:
        if isinstance(msg, m.GlobalRequestTcpipForward):
            port = self.server.check_port_forward_request(msg.address, msg.port)
            if port is False or port is None:
                return False
            return struct.pack(">I", int(port)) if msg.port == 0 else True
        if isinstance(msg, m.GlobalRequestCancelTcpipForward):
            # None (paramiko's signature) is a success; False: nothing was forwarded there.
            return self.server.cancel_port_forward_request(msg.address, msg.port) is not False
        result = self.server.check_global_request(kind, msg)
        if isinstance(result, tuple):
            from harness.ssh.wire.codec import Writer

            w = Writer()
            for item in result:
                if isinstance(item, int):
                    w.uint32(item)
                elif isinstance(item, str):
                    w.text(item)
                else:
                    w.string(item)
            return w.getvalue()
        return bool(result)
