"""Helpers for the client peer tests: a server-role scenario that lets a client peer in and
answers its session, run through the real scenario engine (run_steps) and a ClientTarget."""

from __future__ import annotations

from typing import Any

from harness.scenario import SERVER, Call, Expect, ExpectClose, Handshake, Scenario
from harness.scenario.execute import run_steps
from harness.scenario.peers import ClientTarget, client_peer_info
from harness.ssh import events as ev
from harness.ssh.wire import messages as m

# What each mode's client asks for once logged in.
FIRST_REQUEST: dict[str, type] = {"exec": m.ChannelRequestExec, "shell": m.ChannelRequestShell,
                                  "sftp": m.ChannelRequestSubsystem, "forward": m.ChannelOpenDirectTcpip}  # fmt: skip
OUTPUT = b"from-our-server\n"
STATUS = 3


def answer(data: bytes, status: int | None) -> Call:
    """Send data, exit-status (if given), EOF and CLOSE on the client's channel."""

    def run(ctx: Any) -> None:
        cid = next(e.channel for e in ctx.log if isinstance(e, ev.ChannelOpened))
        channels = ctx.conn.channels
        channels.send_data(cid, data)
        if status is not None:
            channels.send_request(cid, m.ChannelRequestExitStatus(recipient=0, want_reply=False, status=status))
        channels.send_eof(cid)
        channels.close(cid)

    return Call(run, "answer the client's channel")


def session_steps(mode: str, data: bytes = OUTPUT) -> list[Any]:
    status = STATUS if mode == "exec" else (0 if mode == "shell" else None)
    # The client ends the connection when it is done (paramiko 2.12 without CHANNEL_CLOSE).
    return [Handshake(), Expect(FIRST_REQUEST[mode], timeout=30.0), answer(data, status), ExpectClose(timeout=15.0)]


def run_client(peer: str, steps: list[Any], timeout: float = 10.0, **target_options: Any
               ) -> tuple[str | None, ClientTarget, Any]:  # fmt: skip
    """Run ``steps`` (server role) against client ``peer``; (failure or None, target, context)."""
    info = client_peer_info(peer)
    target = ClientTarget(info, **target_options)
    scenario = Scenario(role=SERVER, steps=steps, timeout=timeout)
    failure, ctx = run_steps(scenario, {}, info, 1, target)
    return failure, target, ctx


def received(ctx: Any, cls: type) -> list[Any]:
    """Messages of type ``cls`` the client sent during the run."""
    return [e.message for e in ctx.log if isinstance(e, ev.MessageReceived) and isinstance(e.message, cls)]
