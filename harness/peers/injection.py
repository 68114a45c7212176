"""Terminal injection: which control characters our server sent reached a client's output raw.

Why: an SSH client prints text the server chose (the pre-auth banner, DISCONNECT descriptions,
keyboard-interactive prompts, exit-signal messages). A client that copies escape sequences or
a lone carriage return to the user's terminal lets a server retitle the window, redraw
earlier lines or fake prompts (CVE-2019-6109, CVE-2019-6110 in scp, and the like). A
server-role scenario puts a distinctive sequence such as :data:`INJECT_MARKER` into such a
string; :func:`find_injections` then tells, per control character, whether it came out
unescaped. A client that escapes (``\\x1b`` shown as ``^[`` or ``\\033``) or drops it is clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# An OSC "set window title" sequence with a name nobody else prints: ESC ] 0 ; ... BEL.
INJECT_MARKER = "\x1b]0;HARNESS-INJECT\x07"
# Characters of context on each side of a control character that the output must also have:
# enough to make a chance match in unrelated output practically impossible, short enough that
# a client which reflows or prefixes the surrounding text still matches.
CONTEXT = 6

_NAMES = {0x07: "BEL", 0x08: "BS", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL", 0x9B: "CSI (C1)"}


def control_name(char: str) -> str:
    code = ord(char)
    if code in _NAMES:
        return _NAMES[code]
    return f"C0 0x{code:02x}" if code < 0x20 else f"C1 0x{code:02x}"


def is_dangerous(text: str, index: int) -> bool:
    """Whether ``text[index]`` is a control character a terminal acts on.

    LF and TAB are ordinary layout; CR counts only when no LF follows (CR LF is a line end);
    every other C0 character, DEL and the C1 range (U+0080-U+009F) count.
    """
    code = ord(text[index])
    if code in (0x09, 0x0A):
        return False
    if code == 0x0D:
        return text[index + 1 : index + 2] != "\n"
    return code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F


@dataclass(frozen=True)
class Injection:
    """One control character of ours found raw in the client's output."""

    source: str  # what carried it: "banner", "disconnect", "kbd-interactive prompt", ...
    control: str  # its name, e.g. "ESC"
    offset: int  # position in the string we sent
    context: str  # the sent text around it, as repr() shows it

    def describe(self) -> str:
        return f"{self.control} from the {self.source} reached the output unescaped ({self.context})"


def _as_text(data: str | bytes) -> str:
    # latin-1 keeps every byte as one code point, so raw C1 bytes stay visible; UTF-8 output of
    # the same characters is decoded first where it is valid.
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def find_injections(sent: Iterable[tuple[str, str | bytes]], output: str | bytes) -> list[Injection]:
    """Control characters of the strings in ``sent`` (pairs of source, text) found raw in ``output``.

    A character counts as passed through when the output contains it with the same neighbours
    (up to :data:`CONTEXT` characters each side, within the sent string). Output that went
    through a terminal has LF turned into CR LF; that is undone first, so a CR we sent alone is
    still told apart.
    """
    out = _as_text(output).replace("\r\n", "\n")
    found: list[Injection] = []
    for source, raw in sent:
        text = _as_text(raw)
        for index in range(len(text)):
            if not is_dangerous(text, index):
                continue
            window = text[max(0, index - CONTEXT) : index + CONTEXT + 1].replace("\r\n", "\n")
            if window in out:
                found.append(Injection(source, control_name(text[index]), index, repr(window)))
    return found
