"""The observed outcome of a cell: what the *peer* did, in one small vocabulary.

Every cell (scenario x peer) gets one outcome, for passes and failures alike, so a change in a
peer's behaviour shows up even where the RFC allows several reactions. The vocabulary is small
on purpose (docs/SCENARIOS.md, "Outcomes"):

=================================  =========================================================
``continued``                      the peer went on normally (nothing notable was observed)
``DISCONNECT <NAME>(<code>) "t"``  the peer sent DISCONNECT with that reason and text
``UNIMPLEMENTED (seq ours)``       UNIMPLEMENTED naming the packet the scenario sent
``UNIMPLEMENTED (seq other)``      UNIMPLEMENTED naming some other sequence number
``reply <MESSAGE>``                the peer answered with that message (e.g. REQUEST_FAILURE)
``silent <n> s``                   nothing arrived for n seconds, the connection still open
``closed without DISCONNECT``      the TCP stream ended without a DISCONNECT
``reset``                          the TCP connection was reset
``text line``                      the peer wrote a text line instead of SSH (e.g. "Protocol
                                   mismatch.") and closed
``hang``                           a client process made no progress within its bound
``peer crashed (<how>)``           the peer process or container died (signal, sanitizer report)
=================================  =========================================================

Our own closes and errors are never an outcome (DESIGN.md, "know the closer"): a cell where our
core could not follow the peer is an ERROR, and :func:`ours_ended_it` says so.
"""

from __future__ import annotations

import re
from typing import Any

from harness.scenario.runner import Closed, Context, LocalError, PeerText, reason_name
from harness.ssh import events as ev
from harness.ssh.wire import messages as m

CONTINUED = "continued"
CLOSED = "closed without DISCONNECT"
RESET = "reset"
TEXT_LINE = "text line"
HANG = "hang"

# Messages that are not a reaction: peers send them unprompted (keepalives, banners, flow control).
_NOT_A_REACTION = (m.Ignore, m.Debug, m.ExtInfo, m.ChannelWindowAdjust, m.UserauthBanner)
_TEXT_LIMIT = 100  # characters of a DISCONNECT text kept in the outcome (the transcript has it all)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters as escapes: peer text must never reach a terminal or a report raw."""
    return _CONTROL.sub(lambda mo: f"\\x{ord(mo.group()):02x}", text)


def disconnect(reason: int, text: str) -> str:
    shown = printable(text.strip())
    if len(shown) > _TEXT_LIMIT:
        shown = shown[:_TEXT_LIMIT] + "..."
    return f'DISCONNECT {reason_name(reason)} "{shown}"'


def silent(seconds: float) -> str:
    return f"silent {seconds:g} s"


def crashed(how: str) -> str:
    return f"peer crashed ({how})"


def reaction(ctx: Context, event: ev.Event) -> str | None:
    """The outcome one logged item stands for, or None when it is no reaction (noise, core events)."""
    if isinstance(event, Closed):
        if event.how.startswith("reset"):
            return RESET
        return TEXT_LINE if _peer_wrote_text_only(ctx) else CLOSED
    if isinstance(event, PeerText):
        return TEXT_LINE
    if isinstance(event, ev.PeerViolation):
        return f"reply {m.message_name(event.message_id)}"  # a reply our normal core would refuse
    if isinstance(event, LocalError):
        return None
    if not isinstance(event, ev.MessageReceived):
        return None
    msg = event.message
    if isinstance(msg, m.Disconnect):
        return disconnect(msg.reason, msg.description)
    if isinstance(msg, m.Unimplemented):
        ours = ctx.stimulus_seqs
        return f"UNIMPLEMENTED (seq {'ours' if msg.seq in ours else 'other'})"
    if isinstance(msg, _NOT_A_REACTION):
        return None
    if isinstance(msg, m.KexInit) and ctx.conn is not None and ctx.conn.kex.count == 0:
        return None  # the peer's own first KEXINIT goes out unprompted: not a reaction
    return f"reply {msg.NAME}"


def _peer_wrote_text_only(ctx: Context) -> bool:
    """The peer wrote text lines instead of binary packets before closing."""
    if any(isinstance(e, PeerText) for e in ctx.log):
        return True  # a text line after its identification line (runner.text_instead_of_packet)
    conn = ctx.conn
    if conn is None or conn.peer_version_line:
        return False
    reader = conn.version_reader
    return bool(getattr(reader, "_pre", None)) or bool(getattr(reader, "_buf", b""))


def first_reaction(ctx: Context, start: int) -> tuple[int, str] | None:
    """The first logged reaction at or after ``start``."""
    for index in range(start, len(ctx.log)):
        text = reaction(ctx, ctx.log[index])
        if text is not None:
            return index, text
    return None


def _rank(text: str) -> int:
    """How decisive a reaction is when a failed step saw several: an ending says most."""
    for rank, prefix in enumerate(("DISCONNECT", RESET, CLOSED, TEXT_LINE, "UNIMPLEMENTED")):
        if text.startswith(prefix):
            return rank
    return 9


def decisive_reaction(ctx: Context, start: int) -> str | None:
    """Of the reactions since ``start``, the most decisive (the first of its kind)."""
    seen = [text for event in ctx.log[start:] if (text := reaction(ctx, event)) is not None]
    return min(seen, key=_rank) if seen else None


def ours_ended_it(ctx: Context, start: int) -> str | None:
    """Our own core refused the peer's bytes (framing, MAC, version line) before any reaction:
    what happened is then ours to explain, never the peer's outcome."""
    for event in ctx.log[start:]:
        if isinstance(event, LocalError):
            return f"{type(event.error).__name__}: {event.error}"
        if reaction(ctx, event) is not None:
            return None
    return None


def cell_outcome(ctx: Context, failed: bool, crash: str | None = None) -> str:
    """The outcome of a finished cell.

    A crash reported by the peer's launcher wins. Otherwise the last observation an
    expectation made (what a ``ExpectClose``/``OneOf``/``Observe`` matched); for a failed
    step, the first reaction after that step began, or silence; for a clean run, ``continued``.
    """
    if crash:
        return crashed(crash)
    if failed:
        start = ctx.fail_start if ctx.fail_start is not None else ctx.expect_pos
        text = decisive_reaction(ctx, start)
        if text is not None and (_rank(text) < 9 or ctx.fail_waited is None):
            return text
        if ctx.closed:
            return CLOSED
        if ctx.fail_waited is not None:
            # The wait ran out with the connection open: the peer went silent on what was asked.
            # Ordinary replies that came first are in the message; which came first is timing.
            return silent(ctx.fail_waited)
        return text or silent(ctx.timeout)
    if ctx.observations:
        return ctx.observations[-1]
    return CONTINUED


def matches_pin(outcome: str, pinned: Any) -> bool:
    """Does ``outcome`` match a pin (one outcome, or a list of timing-dependent alternatives)?

    Runs of four or more digits compare as one number: DISCONNECT texts quote packet sizes that
    depend on random padding, which the seed (not the peer) decides."""
    wanted = pinned if isinstance(pinned, list | tuple) else [pinned]
    return any(normalise(outcome) == normalise(w) for w in wanted)


_LONG_NUMBER = re.compile(r"\d{4,}")


def normalise(outcome: str) -> str:
    """The form pins compare. A reset and a plain close are one ending for a pin: both are a TCP
    ending without DISCONNECT, and which one the kernel reports depends on whether our bytes
    were still unread when the peer closed (timing), not on the peer's choice."""
    if outcome == RESET:
        return CLOSED
    return _LONG_NUMBER.sub("N", outcome)
