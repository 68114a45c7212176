"""Commands on channels: open, requests, data, EOF, close, global requests."""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.scenario.runner import Context, StepFailure
from harness.scenario.steps.base import (
    Composite,
    Step,
    _conn,
    _resolve,
    _show_expected,
    _value_matches,
    await_event,
    flatten,
)
from harness.ssh import events as ev
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

# == commands: channels ==================================================================


class OpenChannel(Step):
    """CHANNEL_OPEN; ``expect`` "ok" (default), "fail" (with ``reason`` code), or None (no wait)."""

    def __init__(self, name: str = "ch", channel_type: str = "session", message: Message | None = None,
                 expect: str | None = "ok", reason: int | None = None) -> None:  # fmt: skip
        self.name, self.channel_type, self.message = name, channel_type, message
        self.expect, self.reason = expect, reason

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        msg = copy.copy(self.message) if self.message is not None else None
        if msg is not None:
            for fname, _ in msg.FIELDS:
                setattr(msg, fname, _resolve(getattr(msg, fname), ctx))
        cid = conn.channels.open(self.channel_type, msg)
        ctx.channels[self.name] = cid
        ctx.vars[f"opened_at:{self.name}"] = len(ctx.log)
        ctx.flush()
        if self.expect is None:
            return
        event = await_event(ctx, lambda e: isinstance(e, ev.ChannelOpened | ev.ChannelOpenFailed)
                            and e.channel == cid, f"an answer to CHANNEL_OPEN {self.channel_type!r}")  # fmt: skip
        if self.expect == "ok" and isinstance(event, ev.ChannelOpenFailed):
            raise StepFailure(f"{ctx.step_label}: expected CHANNEL_OPEN_CONFIRMATION; got CHANNEL_OPEN_FAILURE "
                              f"reason {event.reason} {event.description!r} (phase: {ctx.phase()})")  # fmt: skip
        if self.expect == "fail":
            if isinstance(event, ev.ChannelOpened):
                raise StepFailure(f"{ctx.step_label}: expected CHANNEL_OPEN_FAILURE; got CHANNEL_OPEN_CONFIRMATION "
                                  f"(phase: {ctx.phase()})")  # fmt: skip
            if self.reason is not None and event.reason != self.reason:
                raise StepFailure(f"{ctx.step_label}: expected CHANNEL_OPEN_FAILURE reason {self.reason}; got "
                                  f"reason {event.reason} {event.description!r} (phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        return f"OpenChannel({self.name!r}, {self.channel_type!r}, expect={self.expect!r})"


class Request(Step):
    """A CHANNEL_REQUEST on a named channel; ``expect`` True (SUCCESS), False (FAILURE), None (no wait)."""

    def __init__(self, message: Message, name: str = "ch", expect: bool | None = True) -> None:
        self.message, self.name, self.expect = message, name, expect

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        msg = copy.copy(self.message)
        msg.want_reply = self.expect is not None and msg.want_reply
        cid = ctx.channels[self.name]
        chan = conn.channels.channels.get(cid)
        if chan is None or chan.close_received:
            # The peer closed the channel first (Dropbear closes an idle fresh session when
            # another channel's event comes in): the request cannot be sent, let alone succeed.
            wanted = f"CHANNEL_{'SUCCESS' if self.expect else 'FAILURE'}" if self.expect is not None else "no reply"
            raise StepFailure(f"{ctx.step_label}: the peer closed channel {self.name!r} before {msg.NAME} was "
                              f"sent; expected {wanted} for {msg.NAME} (phase: {ctx.phase()})")  # fmt: skip
        conn.channels.send_request(cid, msg)
        ctx.flush()
        if self.expect is None or not msg.want_reply:
            return
        event = await_event(ctx, lambda e: isinstance(e, ev.ChannelRequestReply) and e.channel == cid,
                            f"CHANNEL_{'SUCCESS' if self.expect else 'FAILURE'} for {msg.NAME}")  # fmt: skip
        if event.success != self.expect:
            got = "CHANNEL_SUCCESS" if event.success else "CHANNEL_FAILURE"
            raise StepFailure(f"{ctx.step_label}: expected CHANNEL_{'SUCCESS' if self.expect else 'FAILURE'} "
                              f"for {msg!r}; got {got} (phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        return f"Request({self.message.NAME}, expect={self.expect})"


def Exec(command: str, name: str = "ch", expect: bool | None = True) -> Request:  # noqa: N802
    return Request(m.ChannelRequestExec(want_reply=True, command=command.encode()), name, expect)


def Session(command: str | None = None, name: str = "ch") -> Composite:  # noqa: N802
    """Open a session channel (and exec ``command``)."""
    steps: list[Step] = [OpenChannel(name)]
    if command is not None:
        steps.append(Exec(command, name))
    return Composite(f"Session({command!r})", *steps)


class SendData(Step):
    """Send ``data`` (or that many seeded random bytes) on a channel, waiting for window as needed."""

    def __init__(self, data: bytes | int, name: str = "ch", data_type: int = 0, timeout: float = 30.0) -> None:
        self.data, self.name, self.data_type, self.timeout = data, name, data_type, timeout

    def run(self, ctx: Context) -> None:
        data = ctx.rng.randbytes(self.data) if isinstance(self.data, int) else self.data
        send_all(ctx, self.name, data, self.data_type, self.timeout)

    def describe(self) -> str:
        size = self.data if isinstance(self.data, int) else len(self.data)
        return f"SendData({size} bytes on {self.name!r})"


def send_all(ctx: Context, name: str, data: bytes, data_type: int = 0, timeout: float = 30.0) -> None:
    conn = _conn(ctx)
    cid = ctx.channels[name]
    digest = ctx.vars.setdefault(f"sent:{name}", hashlib.sha256())
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + timeout
    while sent < len(data):
        n = conn.channels.send_data(cid, view[sent:], data_type)
        digest.update(view[sent : sent + n])
        sent += n
        ctx.flush()
        if sent < len(data):
            if ctx.closed or time.monotonic() > deadline:
                raise ctx.fail(f"window to send {len(data) - sent} more of {len(data)} bytes", ctx.expect_pos)
            ctx.pump(min(deadline, time.monotonic() + 0.2))


@dataclass
class ChannelOutput:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_status: int | None = None
    exit_signal: str | None = None
    eof: bool = False
    closed: bool = False
    requests: list[str] = field(default_factory=list)


def collect_output(ctx: Context, name: str, until: str, timeout: float, start: int,
                   nbytes: int | None = None) -> ChannelOutput:  # fmt: skip
    """Gather a channel's data/requests from log index ``start`` until close, eof or ``nbytes``."""
    cid = ctx.channels[name]
    out = ChannelOutput()
    stdout, stderr = bytearray(), bytearray()
    index = start
    deadline = time.monotonic() + timeout
    while True:
        while index < len(ctx.log):
            e = ctx.log[index]
            index += 1
            if isinstance(e, ev.ChannelData) and e.channel == cid:
                (stderr if e.data_type == 1 else stdout).extend(e.data)
            elif isinstance(e, ev.ChannelRequestReceived) and e.channel == cid:
                out.requests.append(e.request_type)
                if isinstance(e.message, m.ChannelRequestExitStatus):
                    out.exit_status = e.message.status
                elif isinstance(e.message, m.ChannelRequestExitSignal):
                    out.exit_signal = e.message.signal
            elif isinstance(e, ev.ChannelEof) and e.channel == cid:
                out.eof = True
            elif isinstance(e, ev.ChannelClosed) and e.channel == cid:
                out.closed = True
        out.stdout, out.stderr = bytes(stdout), bytes(stderr)
        done = {"close": out.closed, "eof": out.eof or out.closed,
                "bytes": nbytes is not None and len(stdout) >= nbytes}[until]  # fmt: skip
        if done or ctx.closed or time.monotonic() >= deadline:
            ctx.expect_pos = max(ctx.expect_pos, index)
            return out
        ctx.pump(deadline)


class ExpectOutput(Step):
    """Read a channel until it closes (or EOF) and check stdout, stderr, exit status or signal."""

    def __init__(self, name: str = "ch", stdout: Any = None, stderr: Any = None, exit_status: Any = None,
                 exit_signal: Any = None, until: str = "close", timeout: float | None = None) -> None:  # fmt: skip
        self.name, self.until, self.timeout = name, until, timeout
        self.checks = {"stdout": stdout, "stderr": stderr, "exit_status": exit_status, "exit_signal": exit_signal}

    def run(self, ctx: Context) -> None:
        start = min(ctx.expect_pos, ctx.vars.get(f"opened_at:{self.name}", ctx.expect_pos))
        out = collect_output(ctx, self.name, self.until, self.timeout or max(ctx.timeout, 10.0), start)
        ctx.vars[f"output:{self.name}"] = out
        if not (out.closed if self.until == "close" else (out.eof or out.closed)):
            raise ctx.fail(f"channel {self.name!r} to reach {self.until.upper()} "
                           f"(so far: {len(out.stdout)} bytes stdout, requests {out.requests})", start)  # fmt: skip
        for key, want in self.checks.items():
            if want is None:
                continue
            got = getattr(out, key)
            if not _value_matches(want, got, ctx):
                raise StepFailure(f"{ctx.step_label}: expected {key} {_show_expected(want, ctx)}; got {got!r} "
                                  f"(channel {self.name!r}; requests seen: {out.requests}; "
                                  f"phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        checks = ", ".join(f"{k}={v!r}" for k, v in self.checks.items() if v is not None)
        return f"ExpectOutput({self.name!r}, {checks})"


class Echo(Step):
    """Send ``size`` seeded random bytes on a channel running ``cat`` and check the echo (SHA-256)."""

    def __init__(self, size: int, name: str = "ch", timeout: float = 60.0, during: Sequence[Step] = (),
                 at: int | None = None) -> None:  # fmt: skip
        self.size, self.name, self.timeout = size, name, timeout
        self.during, self.at = flatten(during), at  # steps run once ``at`` bytes have been sent

    def run(self, ctx: Context) -> None:
        data = ctx.rng.randbytes(self.size)
        start = len(ctx.log)
        if self.during:
            at = self.size // 2 if self.at is None else self.at
            send_all(ctx, self.name, data[:at], timeout=self.timeout)
            for step in self.during:
                step.run(ctx)
            send_all(ctx, self.name, data[at:], timeout=self.timeout)
        else:
            send_all(ctx, self.name, data, timeout=self.timeout)
        out = collect_output(ctx, self.name, "bytes", self.timeout, start, self.size)
        if len(out.stdout) < self.size:
            raise ctx.fail(f"{self.size} bytes echoed on channel {self.name!r}; {len(out.stdout)} came back",
                           ctx.expect_pos)  # fmt: skip
        if hashlib.sha256(out.stdout[: self.size]).digest() != hashlib.sha256(data).digest():
            raise StepFailure(f"{ctx.step_label}: the echo of {self.size} bytes differs from what was sent "
                              f"(phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        extra = f", during={[s.describe() for s in self.during]}" if self.during else ""
        return f"Echo({self.size} bytes on {self.name!r}{extra})"


class SendEof(Step):
    def __init__(self, name: str = "ch") -> None:
        self.name = name

    def run(self, ctx: Context) -> None:
        _conn(ctx).channels.send_eof(ctx.channels[self.name])
        ctx.flush()


class CloseChannel(Step):
    """Send CHANNEL_CLOSE; ``wait`` for the peer's CLOSE in reply."""

    def __init__(self, name: str = "ch", wait: bool = True) -> None:
        self.name, self.wait = name, wait

    def run(self, ctx: Context) -> None:
        cid = ctx.channels[self.name]
        _conn(ctx).channels.close(cid)
        ctx.flush()
        if self.wait:
            await_event(ctx, lambda e: isinstance(e, ev.ChannelClosed) and e.channel == cid,
                        f"CHANNEL_CLOSE for channel {self.name!r}", None)  # fmt: skip


class GlobalRequest(Step):
    """Send a GLOBAL_REQUEST through the core; ``expect`` True/False (reply) or None (no reply wanted)."""

    def __init__(self, name: str, data: bytes = b"", expect: bool | None = False,
                 check_data: Callable[[bytes], bool] | None = None) -> None:  # fmt: skip
        self.name, self.data, self.expect, self.check_data = name, data, expect, check_data

    def run(self, ctx: Context) -> None:
        token = _conn(ctx).global_request(self.name, self.expect is not None, self.data)
        ctx.flush()
        if self.expect is None:
            return
        want = "REQUEST_SUCCESS" if self.expect else "REQUEST_FAILURE"
        event = await_event(ctx, lambda e: isinstance(e, ev.GlobalReply) and e.token == token,
                            f"{want} to GLOBAL_REQUEST {self.name!r}")  # fmt: skip
        if event.success != self.expect:
            got = "REQUEST_SUCCESS" if event.success else "REQUEST_FAILURE"
            raise StepFailure(f"{ctx.step_label}: expected {want}; got {got} (phase: {ctx.phase()})")
        ctx.vars[f"reply:{self.name}"] = event.data
        if self.check_data is not None and not self.check_data(event.data):
            raise StepFailure(f"{ctx.step_label}: REQUEST_SUCCESS data {event.data!r} fails the check")

    def describe(self) -> str:
        return f"GlobalRequest({self.name!r}, expect={self.expect})"
