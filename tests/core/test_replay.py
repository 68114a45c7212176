"""Recorded sessions with real OpenSSH 9.2 and Dropbear 2022.83 replay byte for byte.

Each transcript forces one algorithm (kex, host key, cipher, MAC, compression). Replaying it
offline is that algorithm's known-answer test: our exchange hash must make the server's recorded
signature verify, our derived keys must decrypt its recorded packets, and everything we send
must equal, byte for byte, what we sent to the live server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.ssh import events as ev
from harness.transcript import Transcript, replay

TRANSCRIPTS = sorted((Path(__file__).parents[2] / "corpus" / "transcripts").glob("*/*.json"))


def test_transcripts_exist() -> None:
    assert len(TRANSCRIPTS) >= 60, "run `python -m harness record-transcripts` to regenerate"


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[f"{p.parent.name}/{p.stem}" for p in TRANSCRIPTS])
def test_replay(path: Path) -> None:
    transcript = Transcript.load(path)
    seen: list[ev.Event] = []
    replay(transcript, on_step=lambda conn, step, events: seen.extend(events))
    kinds = [type(e) for e in seen]
    assert kinds.count(ev.KexComplete) == 2  # first exchange and the forced rekey
    assert ev.AuthSuccess in kinds
    echoed = b"".join(e.data for e in seen if isinstance(e, ev.ChannelData))
    assert echoed == b"hello\n"
    assert ev.ChannelClosed in kinds


def test_tampered_transcript_fails_loudly() -> None:
    """A changed byte in the server's kex reply must break the replay (no silent acceptance)."""
    from harness.ssh.errors import RemoteProtocolError

    transcript = Transcript.load(next(p for p in TRANSCRIPTS if p.stem == "kex-curve25519-sha256"))
    chunks = transcript.steps[0].incoming
    joined = bytearray(bytes.fromhex("".join(chunks)))
    joined[-40] ^= 0x01  # inside the last packets of the first step (reply / NEWKEYS / encrypted)
    transcript.steps[0].incoming = [joined.hex()]
    with pytest.raises((RemoteProtocolError, AssertionError)):
        replay(transcript, upto=1)
