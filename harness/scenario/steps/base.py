"""References, predicates and the step base class shared by every step kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.scenario.runner import Closed, Context, LocalError, StepFailure
from harness.ssh import events as ev
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

# Messages peers send unprompted; a lenient Expect skips them, ExpectNothing ignores them.
NOISE: tuple[type[Message], ...] = (m.Ignore, m.Debug, m.ExtInfo, m.ChannelWindowAdjust, m.UserauthBanner)


def our_algorithms(category: str) -> tuple[str, ...]:
    from harness.ssh.crypto.compression import COMPRESSIONS
    from harness.ssh.crypto.protection import CIPHERS, MACS
    from harness.ssh.kex.methods import KEX_METHODS
    from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

    return tuple({"kex": KEX_METHODS, "host_key": SUPPORTED_HOST_KEY_ALGORITHMS, "cipher": CIPHERS,
                  "mac": MACS, "compression": COMPRESSIONS}[category])  # fmt: skip


# == references and predicates ===========================================================


class Ref:
    def resolve(self, ctx: Context) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class Local(Ref):
    """Our id of the named channel."""

    name: str = "ch"

    def resolve(self, ctx: Context) -> int:
        return ctx.channels[self.name]


@dataclass(frozen=True)
class Remote(Ref):
    """The peer's id of the named channel (what goes in ``recipient`` of what we send)."""

    name: str = "ch"

    def resolve(self, ctx: Context) -> int:
        assert ctx.conn is not None
        chan = ctx.conn.channels.channels.get(ctx.channels[self.name])
        if chan is None or chan.remote_id is None:
            return ctx.vars.get(f"remote:{self.name}", 0)
        return chan.remote_id


@dataclass(frozen=True)
class SentSeq(Ref):
    """Sequence number of the packet the scenario's last Send put out (plus ``offset``); before
    any Send, of the last packet we sent. Fixed when the Send ran, so packets our core sends
    afterwards (kex replies, window adjusts) do not shift it."""

    offset: int = 0

    def resolve(self, ctx: Context) -> int:
        seq = ctx.stimulus_seq if ctx.stimulus_seq is not None else ctx.last_sent_seq
        assert seq is not None
        return seq + self.offset


@dataclass(frozen=True)
class Var(Ref):
    name: str

    def resolve(self, ctx: Context) -> Any:
        return ctx.vars[self.name]


@dataclass(frozen=True)
class Contains:
    """Expected value contains ``item`` (a name in a name-list, a substring of a text)."""

    item: Any

    def __call__(self, value: Any) -> bool:
        return self.item in value

    def __repr__(self) -> str:
        return f"contains {self.item!r}"


@dataclass(frozen=True)
class OneOfValues:
    values: tuple[Any, ...]

    def __call__(self, value: Any) -> bool:
        return value in self.values

    def __repr__(self) -> str:
        return f"one of {self.values!r}"


def _resolve(value: Any, ctx: Context) -> Any:
    return value.resolve(ctx) if isinstance(value, Ref) else value


def _value_matches(expected: Any, got: Any, ctx: Context) -> bool:
    expected = _resolve(expected, ctx)
    if callable(expected) and not isinstance(expected, type):
        return bool(expected(got))
    if isinstance(expected, list | tuple) and isinstance(got, list | tuple):
        return tuple(expected) == tuple(got)
    return bool(expected == got)


def _show_expected(value: Any, ctx: Context) -> str:
    try:
        value = _resolve(value, ctx)
    except (KeyError, AssertionError):
        pass
    return (
        repr(value)
        if not callable(value) or isinstance(value, Contains | OneOfValues)
        else getattr(value, "__name__", "predicate")
    )


# == the step base =======================================================================


class Step:
    """One step; ``run`` raises StepFailure with expected / got / phase when it fails."""

    def run(self, ctx: Context) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


def flatten(steps: Iterable[Any]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if isinstance(step, list | tuple):
            out += flatten(step)
        else:
            out.append(step)
    return out


class Composite(Step):
    """A named sequence of steps (how high-level steps are built from low-level ones)."""

    def __init__(self, name: str, *steps: Any) -> None:
        self.name = name
        self.steps = flatten(steps)

    def run(self, ctx: Context) -> None:
        outer = ctx.step_label
        for index, step in enumerate(self.steps, 1):
            ctx.step_label = f"{outer} > {index}. {step.describe()}"
            step.run(ctx)
        ctx.step_label = outer

    def describe(self) -> str:
        return self.name


def past_consequences(ctx: Context, index: int) -> int:
    """The log index after a matched message and the core events its handler produced (so a
    later command does not mistake, e.g., that USERAUTH_FAILURE's AuthFailure for its own)."""
    index += 1
    while index < len(ctx.log) and not isinstance(ctx.log[index], ev.MessageReceived | Closed | LocalError):
        index += 1
    return index


def _fatal(e: ev.Event) -> bool:
    if isinstance(e, Closed | LocalError):
        return True
    return isinstance(e, ev.MessageReceived) and isinstance(e.message, m.Disconnect)


def await_event(ctx: Context, want: Callable[[ev.Event], bool], expected: str,
                timeout: float | None = None) -> ev.Event:  # fmt: skip
    """Wait for an event of the core (commands use this); a close or DISCONNECT fails early."""
    start = ctx.expect_pos
    hit = ctx.wait_for(lambda e: want(e) or _fatal(e), timeout, start)
    if hit is None or not want(hit[1]):
        raise ctx.fail(expected, start)
    ctx.expect_pos = hit[0] + 1
    return hit[1]


def _conn(ctx: Context):  # type: ignore[no-untyped-def]
    if ctx.conn is None:
        raise StepFailure(f"{ctx.step_label}: no connection (a Connect step must come first)")
    return ctx.conn
