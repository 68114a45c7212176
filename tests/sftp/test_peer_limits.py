"""Issue 19.1 for SFTP: the server's limits@openssh.com numbers only ever lower our sizes.

A server may announce read, write and packet lengths up to 2^64-1 (or 0, "no limit"). The READ
lengths we ask for and the WRITE data we send stay within our own bounds (MAX_READ_LENGTH,
MAX_WRITE_LENGTH, both inside the 256 KiB SFTP packet we accept), and never drop to 0.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.ssh.sftp.constants import MAX_PACKET_LENGTH, MAX_READ_LENGTH, MAX_WRITE_LENGTH
from tests.sftp.fakeserver import FakeServer
from tests.sftp.test_client import client

U64_MAX = (1 << 64) - 1
lengths = st.one_of(st.just(0), st.integers(1, 70_000), st.integers(0, U64_MAX), st.just(U64_MAX))


@settings(max_examples=60, deadline=None)
@given(packet=lengths, read=lengths, write=lengths)
def test_announced_limits_never_raise_our_sizes(packet: int, read: int, write: int) -> None:
    sftp = client(FakeServer(limits=(packet, read, write, 0)))
    assert 1 <= sftp.read_length <= MAX_READ_LENGTH < MAX_PACKET_LENGTH
    assert 1 <= sftp.write_length <= MAX_WRITE_LENGTH < MAX_PACKET_LENGTH
    if read:
        assert sftp.read_length <= read
    if write:
        assert sftp.write_length <= write
