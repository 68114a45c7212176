"""Issue 19.3: control characters a peer chose never reach a terminal or a log unescaped.

The peer picks the DISCONNECT text, banners, prompts, debug and exit-signal messages, channel
open failure texts and pre-banner lines. Exceptions that quote them, and the reprs of events
that carry them, must be printable; the events themselves keep the raw text (it is data).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh import events as ev
from harness.ssh.errors import ChannelException, PeerDisconnected, RemoteProtocolError
from harness.ssh.printable import printable
from harness.ssh.sftp.errors import status_error
from harness.ssh.wire import messages as m

HOSTILE = "ok \x1b[2J\x1b]0;owned\x07 line\r\nforged: root\tlogin \x7f\x9b1m \u202eevil\u202c \ud800 end"


def test_printable_escapes_controls_like_repr() -> None:
    out = printable(HOSTILE)
    assert out.isprintable()
    for raw, shown in [("\x1b", "\\x1b"), ("\r", "\\r"), ("\n", "\\n"), ("\t", "\\t"), ("\x7f", "\\x7f"),
                       ("\x9b", "\\x9b"), ("\u202e", "\\u202e"), ("\ud800", "\\ud800")]:  # fmt: skip
        assert raw not in out and shown in out
    assert printable("plain text, ünïcode and a \\ backslash") == "plain text, ünïcode and a \\ backslash"
    assert printable(b"bytes \x1b[0m \xff") == "bytes \\x1b[0m \\xff"


@given(st.one_of(st.text(), st.binary()))
def test_printable_is_printable_and_idempotent(text: str | bytes) -> None:
    once = printable(text)
    assert once.isprintable()
    assert printable(once) == once


def test_exception_messages_quote_the_peer_escaped() -> None:
    for exc in (PeerDisconnected(2, HOSTILE), ChannelException(1, HOSTILE), RemoteProtocolError(HOSTILE),
                status_error(4, HOSTILE, "/tmp/x")):  # fmt: skip
        assert str(exc).isprintable(), type(exc).__name__
        assert "\\x1b[2J" in str(exc)
    # The raw text stays available to code that wants the data.
    assert PeerDisconnected(2, HOSTILE).description == HOSTILE
    assert ChannelException(1, HOSTILE).text == HOSTILE


def _hostile_value(field: dataclasses.Field) -> object:  # type: ignore[type-arg]
    kind = str(field.type)
    if "Message" in kind:
        return m.ChannelRequestExitSignal(recipient=0, want_reply=False, signal=HOSTILE, core_dumped=False,
                                          message=HOSTILE, language=HOSTILE)  # fmt: skip
    if "tuple[tuple[str, bool]" in kind:
        return ((HOSTILE, False),)
    if "tuple" in kind:
        return (HOSTILE,)
    if "dict" in kind:
        return {HOSTILE: HOSTILE.encode("utf-8", "surrogatepass")}
    if "bytes" in kind:
        return HOSTILE.encode("utf-8", "surrogatepass")
    if "bool" in kind:
        return True
    if "int" in kind:
        return 7
    if "Exception" in kind:
        return RemoteProtocolError(HOSTILE)
    return HOSTILE


EVENT_TYPES = [cls for cls in vars(ev).values()
               if isinstance(cls, type) and issubclass(cls, ev.Event) and dataclasses.is_dataclass(cls)]  # fmt: skip


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_every_event_shows_hostile_text_escaped(cls: type) -> None:
    event = cls(**{f.name: _hostile_value(f) for f in dataclasses.fields(cls)})
    assert repr(event).isprintable() and str(event).isprintable()
    assert "\x1b" not in repr(event)
