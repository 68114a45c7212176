"""Expectations: steps that wait for what the peer does, and OneOf for several acceptable outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.scenario.outcome import CLOSED, CONTINUED, reaction, silent
from harness.scenario.runner import Closed, Context, LocalError, reason_name
from harness.scenario.steps.base import (
    NOISE,
    Composite,
    Step,
    _fatal,
    _show_expected,
    _value_matches,
    flatten,
    past_consequences,
)
from harness.scenario.steps.channels import ExpectOutput, Session
from harness.ssh import events as ev
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

# == expectations ========================================================================


class ExpectStep(Step):
    """Base of steps that match one incoming item (usable as the head of a OneOf branch)."""

    timeout: float | None = None
    # Whether a match is an observation of the peer's reaction (the cell's outcome): closes,
    # DISCONNECT and UNIMPLEMENTED are; the ordinary replies of a normal flow are not.
    observes: bool = False

    def matches(self, ctx: Context, e: ev.Event) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def expected(self, ctx: Context) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def stops(self, ctx: Context, e: ev.Event) -> bool:
        """An item that ends the wait unsuccessfully (default: close / DISCONNECT / our core's refusal)."""
        return _fatal(e)

    def after(self, ctx: Context, e: ev.Event) -> None:
        """Extra checks once matched."""

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        hit = ctx.wait_for(lambda e: self.matches(ctx, e) or self.stops(ctx, e), self.timeout, start)
        if hit is None or not self.matches(ctx, hit[1]):
            waited = self.timeout if self.timeout is not None else ctx.timeout
            extra = "" if hit is not None or ctx.closed else f"then nothing for {waited:g} s"
            raise ctx.fail(self.expected(ctx), start, extra, waited)
        if self.observes:
            ctx.observe(reaction(ctx, hit[1]) or CONTINUED)
        ctx.expect_pos = past_consequences(ctx, hit[0])
        self.after(ctx, hit[1])


class Expect(ExpectStep):
    """Wait for a message of class ``cls`` whose fields match ``fields``.

    Lenient by default: other messages may come first (they are listed if it fails). With
    ``strict`` the next message other than IGNORE/DEBUG/EXT_INFO/WINDOW_ADJUST must match."""

    def __init__(self, cls: type[Message] | int, timeout: float | None = None, strict: bool = False,
                 observe: bool | None = None, **fields: Any) -> None:  # fmt: skip
        self.cls, self.timeout, self.strict, self.fields = cls, timeout, strict, fields
        # A reply to a scenario's provocation is its outcome; say observe=True for others.
        self.observes = observe if observe is not None else cls in (m.Unimplemented, m.Disconnect, 3, 1)

    def _is_type(self, msg: Message) -> bool:
        if isinstance(self.cls, int):
            return self.cls == msg.ID
        return isinstance(msg, self.cls)

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        if not isinstance(e, ev.MessageReceived) or not self._is_type(e.message):
            return False
        return all(_value_matches(want, getattr(e.message, k, None), ctx) for k, want in self.fields.items())

    def stops(self, ctx: Context, e: ev.Event) -> bool:
        if _fatal(e):
            return True
        return self.strict and isinstance(e, ev.MessageReceived) and not isinstance(e.message, NOISE)

    def expected(self, ctx: Context) -> str:
        name = m.message_name(self.cls) if isinstance(self.cls, int) else self.cls.NAME
        if self.fields:
            name += "(" + ", ".join(f"{k} {_show_expected(v, ctx)}" for k, v in self.fields.items()) + ")"
        return name

    def describe(self) -> str:
        name = m.message_name(self.cls) if isinstance(self.cls, int) else self.cls.NAME
        return f"Expect({name}{', strict' if self.strict else ''})"


class ExpectDisconnect(ExpectStep):
    """Wait for a DISCONNECT (with ``reason`` code and ``text`` in its description, if given)."""

    observes = True

    def __init__(self, reason: int | Sequence[int] | None = None, text: str | None = None,
                 timeout: float | None = None) -> None:  # fmt: skip
        self.reason = (reason,) if isinstance(reason, int) else (tuple(reason) if reason else None)
        self.text, self.timeout = text, timeout

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        if not (isinstance(e, ev.MessageReceived) and isinstance(e.message, m.Disconnect)):
            return False
        if self.reason is not None and e.message.reason not in self.reason:
            return False
        return self.text is None or self.text in e.message.description

    def expected(self, ctx: Context) -> str:
        text = "DISCONNECT"
        if self.reason:
            text += " with reason " + " or ".join(reason_name(r) for r in self.reason)
        if self.text:
            text += f" mentioning {self.text!r}"
        return text

    def describe(self) -> str:
        return f"ExpectDisconnect({self.reason or ''})"


class ExpectClose(ExpectStep):
    """The peer ends the connection: a DISCONNECT (with ``reason`` if given) or the stream closing.

    Only the peer's own ending counts: our core refusing its bytes first is a harness-side
    ending (reported as an ERROR), never a pass."""

    observes = True

    def __init__(self, reason: int | Sequence[int] | None = None, timeout: float | None = None,
                 require_disconnect: bool = False) -> None:  # fmt: skip
        self.disconnect = ExpectDisconnect(reason)
        self.timeout, self.require_disconnect = timeout, require_disconnect

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        if isinstance(e, Closed):
            return not self.require_disconnect
        return self.disconnect.matches(ctx, e)

    def stops(self, ctx: Context, e: ev.Event) -> bool:
        # Our core refusing the peer's bytes stops the wait too: a close after that may be the
        # peer answering *our* DISCONNECT, so it can never count as the peer's own ending.
        return isinstance(e, Closed | LocalError) or (isinstance(e, ev.MessageReceived)
                                                      and isinstance(e.message, m.Disconnect))  # fmt: skip

    def expected(self, ctx: Context) -> str:
        alt = "" if self.require_disconnect else " or the connection closing"
        return self.disconnect.expected(ctx) + alt

    def describe(self) -> str:
        return f"ExpectClose({self.disconnect.reason or ''})"


class ExpectNothing(Step):
    """For ``seconds``, nothing but IGNORE/DEBUG/WINDOW_ADJUST (and ``allow``) arrives, and the
    connection stays open."""

    def __init__(self, seconds: float = 1.0, allow: tuple[type[Message], ...] = ()) -> None:
        self.seconds, self.allow = seconds, allow

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        allowed = NOISE + self.allow

        def bad(e: ev.Event) -> bool:
            if isinstance(e, Closed | LocalError):
                return True
            return isinstance(e, ev.MessageReceived) and not isinstance(e.message, allowed)

        hit = ctx.wait_for(bad, self.seconds, start)
        if hit is not None:
            raise ctx.fail(f"nothing for {self.seconds:g} s", start)
        ctx.observe(silent(self.seconds))
        ctx.expect_pos = len(ctx.log)

    def describe(self) -> str:
        return f"ExpectNothing({self.seconds:g} s)"


class OneOf(Step):
    """Several acceptable outcomes: each branch is a list of steps whose first is an expectation.

    The first branch whose head matches the next relevant item is taken; its name is recorded
    as the scenario's outcome (shown per peer in the report)."""

    def __init__(self, timeout: float | None = None, **branches: Sequence[Any]) -> None:
        self.timeout = timeout
        self.branches = {name: flatten(steps) for name, steps in branches.items()}
        for name, steps in self.branches.items():
            if not steps or not isinstance(steps[0], ExpectStep):
                raise TypeError(f"OneOf branch {name!r} must start with an expectation step")

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        heads = [(name, steps[0]) for name, steps in self.branches.items()]

        def any_match(e: ev.Event) -> bool:
            return any(head.matches(ctx, e) for _, head in heads)

        def stop(e: ev.Event) -> bool:
            return any_match(e) or all(head.stops(ctx, e) for _, head in heads)

        hit = ctx.wait_for(stop, self.timeout, start)
        if hit is None or not any_match(hit[1]):
            alts = " | ".join(f"{name}: {head.expected(ctx)}" for name, head in heads)
            raise ctx.fail(f"one of [{alts}]", start)
        index, event = hit
        name, head = next((n, h) for n, h in heads if h.matches(ctx, event))
        ctx.outcomes.append(name)
        ctx.note(f"branch: {name}")
        ctx.observe(reaction(ctx, event) or CONTINUED)
        ctx.expect_pos = past_consequences(ctx, index)
        head.after(ctx, event)
        label = ctx.step_label
        for i, step in enumerate(self.branches[name][1:], 2):
            ctx.step_label = f"{label} > {name} {i}. {step.describe()}"
            step.run(ctx)
        ctx.step_label = label

    def describe(self) -> str:
        return "OneOf(" + ", ".join(self.branches) + ")"


class ExpectKexComplete(ExpectStep):
    """Head-of-branch form of WaitKex (e.g. "the handshake completes" as one acceptable outcome)."""

    def __init__(self, timeout: float | None = 20.0) -> None:
        self.timeout = timeout

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        return isinstance(e, ev.KexComplete)

    def expected(self, ctx: Context) -> str:
        return "the key exchange to complete"


class ExpectEvent(ExpectStep):
    """Head-of-branch match on any core event by type (e.g. ev.AuthFailure) and attributes."""

    def __init__(self, cls: type, timeout: float | None = None, **attrs: Any) -> None:
        self.cls, self.timeout, self.attrs = cls, timeout, attrs

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        return isinstance(e, self.cls) and all(_value_matches(v, getattr(e, k, None), ctx)
                                               for k, v in self.attrs.items())  # fmt: skip

    def expected(self, ctx: Context) -> str:
        return f"{self.cls.__name__}({', '.join(f'{k}={v!r}' for k, v in self.attrs.items())})"

    def describe(self) -> str:
        return f"ExpectEvent({self.cls.__name__})"


class Observe(Step):
    """Record the peer's first reaction within ``seconds`` (or its silence) as the outcome.

    Never fails: for informational cells, where the RFC does not say what a peer must do,
    the pinned outcome is the whole check."""

    def __init__(self, seconds: float = 2.0, ignore: tuple[type[Message], ...] = ()) -> None:
        # ``ignore``: messages that come anyway and say nothing about the stimulus (the peer's
        # own KEXINIT after an identification-line game), so they are not taken as the reaction.
        self.seconds, self.ignore = seconds, ignore

    def _reacts(self, ctx: Context, e: ev.Event) -> bool:
        if isinstance(e, ev.MessageReceived) and isinstance(e.message, self.ignore):
            return False
        return reaction(ctx, e) is not None

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        hit = ctx.wait_for(lambda e: self._reacts(ctx, e), self.seconds, start, stop_on_close=True)
        if hit is None:
            ctx.observe(CLOSED if ctx.closed else silent(self.seconds))
            ctx.expect_pos = len(ctx.log)
            return
        ctx.observe(reaction(ctx, hit[1]) or CONTINUED)
        ctx.expect_pos = past_consequences(ctx, hit[0])

    def describe(self) -> str:
        return f"Observe({self.seconds:g} s)"


def Alive(timeout: float | None = None) -> Composite:  # noqa: N802
    """The connection still works: a DEBUG-free IGNORE is harmless; a fresh session runs `true`."""
    return Composite("Alive", Session("true", name="_alive"), ExpectOutput("_alive", exit_status=0,
                                                                           timeout=timeout))  # fmt: skip
