"""Server-role steps: our server plays its part for a client peer, rightly or wrongly.

In a ``role=SERVER`` scenario the client peer drives the conversation: it asks for the
ssh-userauth service, authenticates, opens a session and runs its command. The core's
ServerAuth and channel table answer all of that through the target's policy (which lets the
run's own client in), so ``ServeLogin()`` / ``ServeSession()`` only *wait* for each stage.

To misbehave during authentication, a scenario connects with ``held_messages=AUTH_HELD`` (the
core then reports SERVICE_REQUEST / USERAUTH_REQUEST / INFO_RESPONSE without answering them)
and answers by hand: ``Send(m.ServiceAccept(...))``, ``SendAuthSuccess()``,
``SendKbdInteractive(prompts)``, ``SendBanner(text)``, or any message through ``Send``.
"""

from __future__ import annotations

import select
import time
from collections.abc import Sequence
from typing import Any

from harness.scenario.runner import Context, NotApplicableHere
from harness.scenario.steps.base import Composite, Step, _conn, await_event
from harness.scenario.steps.channels import CloseChannel, Request, SendEof
from harness.scenario.steps.commands import Handshake
from harness.scenario.steps.expect import Expect
from harness.scenario.steps.sends import Send
from harness.ssh import events as ev
from harness.ssh.wire import messages as m

# SERVICE_REQUEST, USERAUTH_REQUEST, USERAUTH_INFO_RESPONSE: what a scenario answers by hand
# when it plays authentication itself (Connect(held_messages=AUTH_HELD)).
AUTH_HELD = frozenset({5, 50, 61})


class WaitAuth(Step):
    """The client authenticated: our core's ServerAuth sent USERAUTH_SUCCESS (the target's policy
    accepts the run's client key and the test password)."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def run(self, ctx: Context) -> None:
        await_event(ctx, lambda e: isinstance(e, ev.AuthSuccess), "the client to authenticate (USERAUTH_SUCCESS)",
                    self.timeout or max(ctx.timeout, 15.0))  # fmt: skip


def ServeLogin(**config: Any) -> Composite:  # noqa: N802 - a step constructor
    """Server role: accept the client, complete the key exchange, let it authenticate."""
    return Composite("ServeLogin", Handshake(**config), WaitAuth())


class WaitChannel(Step):
    """The client opened a channel of ``channel_type`` and our policy accepted it; it is named
    ``name`` for later steps (``Remote(name)`` is the client's id of it)."""

    def __init__(self, name: str = "ch", channel_type: str = "session", timeout: float | None = None) -> None:
        self.name, self.channel_type, self.timeout = name, channel_type, timeout

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        ours = set(ctx.channels.values())

        def opened(e: ev.Event) -> bool:
            if not isinstance(e, ev.ChannelOpened) or e.channel in ours:
                return False
            chan = conn.channels.channels.get(e.channel)
            return chan is not None and chan.channel_type == self.channel_type

        event = await_event(ctx, opened, f"the client to open a {self.channel_type!r} channel", self.timeout)
        ctx.channels[self.name] = event.channel
        ctx.vars[f"opened_at:{self.name}"] = ctx.expect_pos

    def describe(self) -> str:
        return f"WaitChannel({self.name!r}, {self.channel_type!r})"


class WaitRequest(Step):
    """The client sent CHANNEL_REQUEST ``request_type`` on a named channel (others may come first;
    our policy answers them)."""

    def __init__(self, request_type: str = "exec", name: str = "ch", timeout: float | None = None) -> None:
        self.request_type, self.name, self.timeout = request_type, name, timeout

    def run(self, ctx: Context) -> None:
        cid = ctx.channels[self.name]
        def wanted(e: ev.Event) -> bool:
            return isinstance(e, ev.ChannelRequestReceived) and e.channel == cid and e.request_type == self.request_type

        event = await_event(ctx, wanted, f"CHANNEL_REQUEST {self.request_type!r} on channel {self.name!r}",
                            self.timeout)  # fmt: skip
        ctx.vars[f"request:{self.name}"] = event.message

    def describe(self) -> str:
        return f"WaitRequest({self.request_type!r})"


def ServeSession(name: str = "ch", **config: Any) -> Composite:  # noqa: N802
    """Server role up to the client's command: login, its session channel, its exec request.
    The client now waits for the command's output, which the scenario plays. What the client
    sends on its own right after exec (EOF of its empty stdin) is taken as seen, so that it is
    not mistaken for a reaction to the scenario's next message."""
    return Composite("ServeSession", ServeLogin(**config), WaitChannel(name), WaitRequest("exec", name),
                     Settle(0.3))  # fmt: skip


def FinishSession(status: int = 0, name: str = "ch") -> Composite:  # noqa: N802
    """End the client's command as a normal server would: exit-status, EOF, CLOSE."""
    return Composite(f"FinishSession({status})",
                     Request(m.ChannelRequestExitStatus(want_reply=False, status=status), name, expect=None),
                     SendEof(name), CloseChannel(name, wait=False))  # fmt: skip


class SendAuthSuccess(Step):
    """USERAUTH_SUCCESS now, whatever the client asked, and our core moves on to the connection
    phase as if it had accepted (so the client's channel opens are served afterwards)."""

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        Send(m.UserauthSuccess()).run(ctx)
        conn.auth.authenticated = True
        conn.auth.method = None
        conn.auth_succeeded()


class SendKbdInteractive(Step):
    """A keyboard-interactive USERAUTH_INFO_REQUEST with these prompts (``echo`` off), sent by
    hand; the client's INFO_RESPONSE then decodes as such (held, with AUTH_HELD)."""

    def __init__(self, prompts: Sequence[str], name: str = "", instruction: str = "") -> None:
        self.prompts, self.name, self.instruction = tuple(prompts), name, instruction

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        conn.auth.method = "keyboard-interactive"
        Send(m.UserauthInfoRequest(name=self.name, instruction=self.instruction, language="",
                                   prompts=tuple((p, False) for p in self.prompts))).run(ctx)  # fmt: skip

    def describe(self) -> str:
        longest = max((len(p) for p in self.prompts), default=0)
        return f"SendKbdInteractive({len(self.prompts)} prompts, longest {longest})"


def SendBanner(text: str) -> Send:  # noqa: N802
    """USERAUTH_BANNER with ``text`` (RFC 4252 5.4), now."""
    return Send(m.UserauthBanner(message=text, language=""))


class SendServiceAccept(Step):
    """SERVICE_ACCEPT for ``service``, by hand; for ssh-userauth our core's ServerAuth then
    serves the client's USERAUTH_REQUESTs as if it had accepted (unless they are held too)."""

    def __init__(self, service: str = "ssh-userauth") -> None:
        self.service = service

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        Send(m.ServiceAccept(service=self.service)).run(ctx)
        if self.service == "ssh-userauth":
            conn.auth.service_accepted = True

    def describe(self) -> str:
        return f"SendServiceAccept({self.service!r})"


def AnswerServiceRequest(service: str = "ssh-userauth") -> Composite:  # noqa: N802
    """With AUTH_HELD: wait for the client's SERVICE_REQUEST and accept ``service`` (the right
    one by default)."""
    return Composite(f"AnswerServiceRequest({service})", Expect(m.ServiceRequest),
                     SendServiceAccept(service))  # fmt: skip


def ExpectUserauthRequest(**fields: Any) -> Expect:  # noqa: N802
    """The client's next USERAUTH_REQUEST (fields as in Expect: method=..., user=...)."""
    return Expect(m.UserauthRequest, **fields)


# Our unchecked sends fill about 15 MB/s; PuTTY's plink grants 2^31-1 bytes (2.5 minutes).
OVERFILL_WINDOW_LIMIT = 16 * 1024 * 1024


class Overfill(Step):
    """CHANNEL_DATA beyond the client's window: the whole window it granted plus ``extra`` bytes,
    in packets no larger than its maximum packet size (sent unchecked). A window over
    ``OVERFILL_WINDOW_LIMIT`` makes the cell n/a rather than a minutes-long fill."""

    def __init__(self, extra: int = 4096, name: str = "ch") -> None:
        self.extra, self.name = extra, name

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        chan = conn.channels.get(ctx.channels[self.name])
        assert chan.remote_id is not None
        if chan.remote_window > OVERFILL_WINDOW_LIMIT:
            raise NotApplicableHere(f"the client granted a window of {chan.remote_window} bytes; filling it "
                                    f"takes minutes (limit {OVERFILL_WINDOW_LIMIT} bytes)")  # fmt: skip
        total = chan.remote_window + self.extra
        step = max(1, min(chan.remote_max_packet - 64, 8192))
        ctx.note(f"overfill: {total} bytes against a window of {chan.remote_window}")
        sent = 0
        while sent < total and not ctx.closed:
            # A client that stops reading (its window is spent, after all) must not block us:
            # each packet waits at most the scenario's timeout for room in the socket.
            if ctx.sock is None or not select.select([], [ctx.sock], [], ctx.timeout)[1]:
                ctx.note(f"overfill: the client stopped reading after {sent} bytes")
                break
            size = min(step, total - sent)
            conn.send_unchecked(m.ChannelData(recipient=chan.remote_id, data=(b"overfill\n" * (size // 9 + 1))[:size]))
            sent += size
            ctx.flush()
            ctx.pump(time.monotonic())  # read what the client says meanwhile (it may have reacted)
        chan.remote_window = 0
        ctx.stimulus_seq = ctx.last_sent_seq

    def describe(self) -> str:
        return f"Overfill(window + {self.extra} bytes on {self.name!r})"


class ExpectHangUp(Step):
    """After our DISCONNECT the client closes the connection and sends nothing more (RFC 4253
    11.1: the recipient MUST NOT send any more messages). IGNORE/DEBUG count as messages too."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def run(self, ctx: Context) -> None:
        from harness.scenario.outcome import CLOSED, RESET
        from harness.scenario.runner import Closed

        # What arrived before now was sent before the client could read our DISCONNECT (a client
        # may pipeline USERAUTH_REQUEST behind SERVICE_REQUEST): only later messages count.
        start = max(ctx.expect_pos, len(ctx.log))
        hit = ctx.wait_for(lambda e: isinstance(e, Closed | ev.MessageReceived), self.timeout, start)
        if hit is None or not isinstance(hit[1], Closed):
            waited = self.timeout if self.timeout is not None else ctx.timeout
            raise ctx.fail("the connection to close with no further message", start,
                           "" if hit is not None else f"then nothing for {waited:g} s", waited)  # fmt: skip
        ctx.observe(RESET if hit[1].how.startswith("reset") else CLOSED)
        ctx.expect_pos = hit[0] + 1


class SwapHostKey(Step):
    """From the next key exchange on, our server signs with a new Ed25519 host key."""

    def run(self, ctx: Context) -> None:
        from harness.scenario.server_keys import fresh_ed25519

        _conn(ctx).config.server_host_keys = [fresh_ed25519(ctx)]
        ctx.note("server host key replaced for the next key exchange")


class Settle(Step):
    """Read for ``seconds`` and take everything that arrived as seen: a client pipelines (its
    USERAUTH_REQUEST right behind SERVICE_REQUEST), and what it sent before our next message
    is no reaction to that message."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds

    def run(self, ctx: Context) -> None:
        ctx.settle(self.seconds)
        ctx.expect_pos = len(ctx.log)

    def describe(self) -> str:
        return f"Settle({self.seconds:g} s)"
