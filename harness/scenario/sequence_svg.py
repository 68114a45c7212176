"""A message-sequence diagram (inline SVG) of one scenario cell's transcript.

Why: a transcript of a few hundred lines is hard to read as text; two lifelines with arrows
show at a glance who spoke last, where a DISCONNECT came from and where the silence started.
The input is the transcript text the scenario runner writes, one event a line:

    ``   0.123 >> [seq 3] KEXINIT(...)``   we sent a packet
    ``   0.130 << [seq 2] NEWKEYS()``      the peer sent one
    ``   0.131 -- a note``                 a note of the scenario
    ``   0.140 !! our core rejected ...``  an error on our side

Lines that do not match (an "... N lines omitted ..." marker) become grey notes. The SVG has
no script and no external reference, so it is safe to inline in the self-contained report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

LINE = re.compile(r"^\s*(?P<time>\d+\.\d+)\s+(?P<dir>>>|<<|--|!!)\s?(?P<text>.*)$")
WIDTH = 960  # px: fits a laptop screen beside nothing else; labels are cut to fit
ROW = 18  # px per transcript event: one line of 12px text plus spacing
TOP = 34  # px for the two lifeline heads
LEFT_X, RIGHT_X = 150, WIDTH - 150  # the two lifelines
LABEL_CHARS = 95  # characters of a message label that fit between the lifelines at 11px
MAX_EVENTS = 600  # the runner keeps at most 400 lines (+ the omission marker); a safety cap


@dataclass(frozen=True)
class Event:
    """One transcript line: seconds since the start (None for markers), direction, text."""

    seconds: float | None
    direction: str  # ">>", "<<", "--", "!!" or "" (unparsed marker)
    text: str


def parse(transcript: str) -> list[Event]:
    """The transcript's lines as events (blank lines dropped, unknown lines kept as markers)."""
    events = []
    for line in transcript.splitlines():
        if not line.strip():
            continue
        match = LINE.match(line)
        if match:
            events.append(Event(float(match["time"]), match["dir"], match["text"]))
        else:
            events.append(Event(None, "", line.strip()))
    return events


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _arrow(y: int, rightwards: bool, colour: str) -> str:
    x1, x2 = (LEFT_X, RIGHT_X) if rightwards else (RIGHT_X, LEFT_X)
    tip = x2 - 8 if rightwards else x2 + 8
    return (f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" stroke-width="1.2"/>'
            f'<polygon points="{x2},{y} {tip},{y - 4} {tip},{y + 4}" fill="{colour}"/>')  # fmt: skip


def render(transcript: str, us: str = "harness", peer: str = "peer") -> str:
    """The SVG markup for ``transcript`` ("" when it has no events); ``us``/``peer`` name the
    left and right lifelines (our role and the peer's id)."""
    events = parse(transcript)[:MAX_EVENTS]
    if not events:
        return ""
    height = TOP + ROW * len(events) + 12
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="11" role="img" '
             f'aria-label="message sequence between {escape(us, quote=True)} and '
             f'{escape(peer, quote=True)}">']  # fmt: skip
    for x, name in ((LEFT_X, us), (RIGHT_X, peer)):
        parts.append(f'<rect x="{x - 110}" y="2" width="220" height="20" rx="3" fill="#e8eef8" stroke="#6a7fa8"/>'
                     f'<text x="{x}" y="16" text-anchor="middle" font-weight="bold">{escape(_cut(name, 30))}</text>'
                     f'<line x1="{x}" y1="22" x2="{x}" y2="{height - 4}" stroke="#9aa" '
                     'stroke-dasharray="4 3"/>')  # fmt: skip
    for index, event in enumerate(events):
        y = TOP + ROW * index + ROW // 2
        stamp = f"{event.seconds:.3f}" if event.seconds is not None else ""
        full = escape(f"{stamp} {event.direction} {event.text}".strip())
        parts.append(f"<g><title>{full}</title>")
        if stamp:
            parts.append(f'<text x="4" y="{y + 4}" fill="#666">{stamp}</text>')
        middle = (LEFT_X + RIGHT_X) // 2
        label = escape(_cut(event.text))
        if event.direction in (">>", "<<"):
            colour = "#1f5fbf" if event.direction == ">>" else "#2f8f3f"
            closing = "disconnect" in event.text.lower() or "connection closed" in event.text
            if closing:
                colour = "#b02020"
            parts.append(_arrow(y + 3, event.direction == ">>", colour))
            parts.append(f'<text x="{middle}" y="{y}" text-anchor="middle" fill="{colour}">{label}</text>')
        else:
            fill, stroke = ("#fde0e0", "#b02020") if event.direction == "!!" else ("#f4f4e8", "#aa9")
            parts.append(f'<rect x="{LEFT_X + 6}" y="{y - 8}" width="{RIGHT_X - LEFT_X - 12}" height="15" '
                         f'fill="{fill}" stroke="{stroke}"/>'
                         f'<text x="{middle}" y="{y + 3}" text-anchor="middle">{label}</text>')  # fmt: skip
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
