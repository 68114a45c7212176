"""A client and a server core wired back to back in memory: whole sessions without sockets."""

from __future__ import annotations

from functools import cache

from harness.ssh import events as ev
from harness.ssh import policy as pol
from harness.ssh.config import ConnectionConfig
from harness.ssh.connection import Connection
from harness.ssh.phases import Role
from harness.transcript import seeded_randbytes

USER, PASSWORD = "alice", "secret"


@cache
def host_keys() -> list:  # type: ignore[type-arg]
    from harness.ssh.keys import ECDSAKey, Ed25519Key, RSAKey

    return [Ed25519Key.generate(seed=bytes(32)), ECDSAKey.generate(256, scalar=12345), RSAKey.generate(2048)]


class Policy(pol.ServerPolicy):
    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password,keyboard-interactive"

    def check_auth_password(self, username: str, password: str) -> int:
        return pol.AUTH_SUCCESSFUL if (username, password) == (USER, PASSWORD) else pol.AUTH_FAILED

    def check_auth_publickey(self, username: str, key) -> int:  # type: ignore[no-untyped-def]
        return pol.AUTH_SUCCESSFUL if key.asbytes() in self.keys else pol.AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str):  # type: ignore[no-untyped-def]
        q = pol.InteractiveQuery("login", "answer please")
        q.add_prompt("Password: ", False)
        return q

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        return pol.AUTH_SUCCESSFUL if responses == [PASSWORD] else pol.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return pol.OPEN_SUCCEEDED if kind == "session" else pol.OPEN_FAILED_UNKNOWN_CHANNEL_TYPE

    def check_channel_request_message(self, chanid: int, msg) -> bool:  # type: ignore[no-untyped-def]
        return msg.request_type in ("exec", "shell", "pty-req", "subsystem")

    def check_global_request(self, kind: str, msg) -> bool | bytes:  # type: ignore[no-untyped-def]
        return kind == "ping@harness"


class Pair:
    def __init__(self, client_config: ConnectionConfig | None = None,
                 server_config: ConnectionConfig | None = None, seed: int = 1) -> None:  # fmt: skip
        sc = server_config or ConnectionConfig()
        if not sc.server_host_keys:
            sc.server_host_keys = host_keys()
        self.policy = Policy()
        self.client = Connection(Role.CLIENT, seeded_randbytes(seed), client_config or ConnectionConfig())
        self.server = Connection(Role.SERVER, seeded_randbytes(seed + 1000), sc, self.policy)
        self.client_events: list[ev.Event] = []
        self.server_events: list[ev.Event] = []

    def start(self) -> None:
        self.client.start()
        self.server.start()
        self.pump()

    def pump(self, rounds: int = 100) -> None:
        """Move bytes both ways until neither side has anything to send."""
        for _ in range(rounds):
            c2s = self.client.data_to_send()
            s2c = self.server.data_to_send()
            if not c2s and not s2c:
                break
            if c2s:
                self.server.receive_data(c2s)
            if s2c:
                self.client.receive_data(s2c)
            self._drain()
        self._drain()

    def _drain(self) -> None:
        while (e := self.client.next_event()) is not None:
            self.client_events.append(e)
        while (e := self.server.next_event()) is not None:
            self.server_events.append(e)
