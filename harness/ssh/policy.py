"""What a server-role connection asks its application (paramiko's ServerInterface, by id).

Why a synchronous interface: an SSH server must answer each auth and channel request before it
reads the next one; asking a pure policy object keeps the core simple and deterministic. The
core passes local channel ids; the facade adapts them to Channel objects. Every default here
denies, so a server that forgets a method refuses rather than allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.ssh.wire.message import Message

AUTH_SUCCESSFUL = 0
AUTH_PARTIALLY_SUCCESSFUL = 1
AUTH_FAILED = 2

OPEN_SUCCEEDED = 0
OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED = 1
OPEN_FAILED_CONNECT_FAILED = 2
OPEN_FAILED_UNKNOWN_CHANNEL_TYPE = 3
OPEN_FAILED_RESOURCE_SHORTAGE = 4


@dataclass
class InteractiveQuery:
    """One keyboard-interactive round: prompts as (text, echo) pairs (paramiko's name)."""

    name: str = ""
    instructions: str = ""
    prompts: list[tuple[str, bool]] = field(default_factory=list)

    def add_prompt(self, prompt: str, echo: bool = True) -> None:
        self.prompts.append((prompt, echo))


class ServerPolicy:
    """Deny-everything defaults; subclass (or the facade's adapter) to allow."""

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

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:  # fmt: skip
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_request_message(self, chanid: int, msg: Message) -> bool:
        """Any CHANNEL_REQUEST (typed message); the facade dispatches to the named methods."""
        return False

    def check_global_request(self, kind: str, msg: Message) -> bool | bytes:
        """True/False, or reply data bytes for REQUEST_SUCCESS (e.g. the port of tcpip-forward)."""
        return False
