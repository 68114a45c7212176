"""The hand-built DISCONNECT and UNIMPLEMENTED payloads are byte for byte the generic encoder's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.connection import disconnect_payload, unimplemented_payload
from harness.ssh.wire import messages as m


@given(st.integers(0, 2**32 - 1), st.text(max_size=300))
def test_disconnect_payload_matches_the_codec(reason: int, description: str) -> None:
    try:
        expected = m.Disconnect(reason=reason, description=description, language="").encode()
    except UnicodeEncodeError:  # a lone surrogate: neither encoder can send it
        expected = None
    if expected is None:
        try:
            disconnect_payload(reason, description)
        except UnicodeEncodeError:
            return
        raise AssertionError("the fast DISCONNECT encoded text the codec refuses")
    assert disconnect_payload(reason, description) == expected
    assert m.decode_message(expected, None, None).description == description


@given(st.integers(0, 2**32 - 1))
def test_unimplemented_payload_matches_the_codec(seq: int) -> None:
    assert unimplemented_payload(seq) == m.Unimplemented(seq=seq).encode()
