"""Peer text made safe to show: control characters escaped before a terminal or log sees them.

Why: a peer chooses the bytes of its DISCONNECT text, banners, prompts, debug messages,
exit-signal messages and pre-banner lines. Printed raw, an ESC sequence can rewrite the
operator's terminal, a CR or LF can forge log lines, and a bidi override can reorder what a
report seems to say. Every place that shows or raises such text passes it through
:func:`printable` first (exception messages, log lines, reprs).

The escapes are Python's own (``\\x1b``, ``\\n``, ``\\u202e``), so a printed string reads like
its repr. Backslashes are left alone: the function is idempotent, which lets a message that
already holds a ``!r``-escaped value be escaped again without doubling anything.
"""

from __future__ import annotations

__all__ = ["printable"]

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str | bytes | bytearray) -> str:
    """``text`` with every non-printable character escaped (bytes are read as UTF-8).

    Non-printable is ``str.isprintable()``'s definition: C0 and C1 controls, DEL, format
    characters such as bidi overrides, separators other than the space, surrogates and
    unassigned code points. Invalid UTF-8 in bytes becomes ``\\xNN``.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text  # the common case costs one C-level scan
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
