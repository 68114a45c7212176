"""Sends: typed messages, payloads and raw bytes put on the wire through the core's unchecked seam."""

from __future__ import annotations

import copy
from collections.abc import Callable

from harness.scenario import tampers as tp
from harness.scenario.runner import Context
from harness.scenario.steps.base import Ref, Step, _conn
from harness.scenario.steps.commands import _arm_writer
from harness.ssh.wire.message import Message, UnknownMessage

# == sends ===============================================================================


class Send(Step):
    """Send a typed message now through the unchecked seam (no phase rules, no kex deferral).

    Field values may be references (``Remote("ch")``...). ``tampers`` damage this one message:
    message/payload tampers before framing, packet/wire tampers on its packet."""

    def __init__(self, message: Message | Callable[[Context], Message], *tampers: tp.Tamper) -> None:
        self.message, self.tampers = message, tampers

    def build(self, ctx: Context) -> Message:
        msg = self.message(ctx) if callable(self.message) and not isinstance(self.message, Message) else \
            copy.copy(self.message)  # fmt: skip
        if not isinstance(msg, UnknownMessage):
            for name, _ in msg.FIELDS:
                value = getattr(msg, name)
                if isinstance(value, Ref):
                    setattr(msg, name, value.resolve(ctx))
        return msg

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        msg = self.build(ctx)
        for t in self.tampers:
            if t.layer == "message":
                msg = t.apply(msg)  # type: ignore[attr-defined]
        payload = msg.encode()
        for t in self.tampers:
            if t.layer == "payload":
                payload = t.apply(payload)  # type: ignore[attr-defined]
        for t in self.tampers:
            if t.layer in ("packet", "wire"):
                _arm_writer(ctx, conn.writer, copy.copy(t))
            elif t.layer == "stream":
                ctx.stream_tampers.append(copy.copy(t))
        conn.send_unchecked(payload)
        ctx.stimulus_seq = ctx.last_sent_seq
        ctx.flush()

    def describe(self) -> str:
        msg = self.message
        name = msg.NAME if isinstance(msg, Message) and not isinstance(msg, UnknownMessage) else (
            f"message {msg.msg_id}" if isinstance(msg, UnknownMessage) else "message")  # fmt: skip
        extra = "".join(f", {t.describe()}" for t in self.tampers)
        return f"Send({name}{extra})"


class SendPayload(Step):
    """Send raw payload bytes framed as one packet (unchecked)."""

    def __init__(self, payload: bytes, *tampers: tp.Tamper) -> None:
        self.payload, self.tampers = payload, tampers

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        for t in self.tampers:
            _arm_writer(ctx, conn.writer, copy.copy(t))
        conn.send_unchecked(self.payload)
        ctx.stimulus_seq = ctx.last_sent_seq
        ctx.flush()

    def describe(self) -> str:
        return f"SendPayload({self.payload[:16].hex()}{'...' if len(self.payload) > 16 else ''})"


class SendRaw(Step):
    """Put bytes on the wire as they are (version-line games, garbage, a truncated packet)."""

    def __init__(self, data: bytes | Callable[[Context], bytes]) -> None:
        self.data = data

    def run(self, ctx: Context) -> None:
        data = self.data(ctx) if callable(self.data) else self.data
        _conn(ctx).send_raw(data)
        ctx.transcript.add(">>", f"raw {len(data)} bytes: {data[:80]!r}{'...' if len(data) > 80 else ''}")
        ctx.flush()

    def describe(self) -> str:
        return "SendRaw(...)" if callable(self.data) else f"SendRaw({len(self.data)} bytes)"
