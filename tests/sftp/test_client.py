"""The blocking client and its pipelines against the in-memory server: faults on demand."""

from __future__ import annotations

import errno
import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.sftp_client import SFTPClient
from harness.sftp_session import ReadPipeline
from harness.ssh.errors import ConnectionLost
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.constants import DEFAULT_TRANSFER_LENGTH, Status
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.sftp.errors import SFTPProtocolError
from tests.sftp.fakeserver import OPENSSH_EXTENSIONS, FakeChannel, FakeServer

BLOCK = 261120


def client(server: FakeServer, chunk: int = 1 << 20) -> SFTPClient:
    return SFTPClient(FakeChannel(server, chunk))  # type: ignore[arg-type]


def test_limits_set_block_sizes_and_pipeline_depth() -> None:
    sftp = client(FakeServer())
    assert sftp.limits is not None and sftp.limits.max_open_handles == 64
    assert (sftp.read_length, sftp.write_length) == (BLOCK, BLOCK)
    assert sftp.read_requests >= 4
    plain = client(FakeServer(extensions=()))
    assert plain.limits is None and plain.read_length == DEFAULT_TRANSFER_LENGTH
    small = client(FakeServer(limits=(34000, 100000, 20000, 0)))
    assert small.read_length == 34000 - 13 and small.write_length == 20000


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 5 * BLOCK + 7), reorder=st.booleans(), max_read=st.sampled_from([None, 1000, 70001]),
       chunk=st.sampled_from([7, 4096, 1 << 20]))  # fmt: skip
def test_getfo_in_order_whatever_the_reply_order_and_read_sizes(size: int, reorder: bool, max_read: int | None,
                                                                chunk: int) -> None:  # fmt: skip
    data = os.urandom(size)
    server = FakeServer({b"f.bin": data})
    sftp = client(server, chunk)
    server.reorder, server.max_read = reorder, max_read
    out = io.BytesIO()
    progress: list[tuple[int, int]] = []
    assert sftp.getfo("f.bin", out, callback=lambda a, b: progress.append((a, b))) == size
    assert out.getvalue() == data
    if size:
        assert progress[-1] == (size, size)


def test_read_error_mid_transfer_is_raised_and_the_session_survives() -> None:
    server = FakeServer({b"f.bin": os.urandom(10 * BLOCK)})
    sftp = client(server)
    server.reorder = True

    def fail(path: bytes, offset: int, length: int) -> p.StatusPacket | None:
        return p.StatusPacket(code=Status.FAILURE, message="disk on fire") if offset == 6 * BLOCK else None

    server.read_hook = fail
    with pytest.raises(OSError, match="disk on fire") as info:
        sftp.getfo("f.bin", io.BytesIO())
    assert info.value.errno == errno.EIO and info.value.filename == "f.bin"
    server.read_hook = None
    assert sftp.stat("f.bin").st_size == 10 * BLOCK  # replies of the dead pipeline did not confuse it
    server.reorder = False
    assert sftp.open("f.bin").read(5) == bytes(server.files[b"f.bin"][:5])


def test_file_shorter_than_its_stat_is_an_error_not_a_short_file() -> None:
    server = FakeServer({b"f.bin": os.urandom(3 * BLOCK)})
    server.stat_size[b"f.bin"] = 5 * BLOCK
    out = io.BytesIO()
    with pytest.raises(OSError, match="size mismatch in get"):
        client(server).getfo("f.bin", out)
    assert len(out.getvalue()) == 3 * BLOCK  # what exists was read, and the shortfall reported


def test_file_longer_than_its_stat_is_read_to_the_end() -> None:
    data = os.urandom(4 * BLOCK + 3)
    server = FakeServer({b"f.bin": data})
    server.stat_size[b"f.bin"] = 10
    out = io.BytesIO()
    with pytest.raises(OSError, match="size mismatch"):
        client(server).getfo("f.bin", out)
    assert out.getvalue() == data


def test_empty_data_reply_is_a_protocol_error() -> None:
    server = FakeServer({b"f.bin": b"x" * 100})
    server.read_hook = lambda path, offset, length: p.Data(data=b"")
    sftp = client(server)
    with pytest.raises(SFTPProtocolError, match="empty FXP_DATA"):
        sftp.getfo("f.bin", io.BytesIO())


@pytest.mark.parametrize("size", [0, 1, BLOCK, 3 * BLOCK + 5])
def test_putfo_pipelines_and_confirms(size: int) -> None:
    server = FakeServer()
    sftp = client(server)
    server.reorder = True
    data = os.urandom(size)
    attrs = sftp.putfo(io.BytesIO(data), "up.bin")
    assert attrs.st_size == size and bytes(server.files[b"up.bin"]) == data
    writes = [r for r in server.requests if r.ID == T.WRITE]
    assert len(writes) == -(-size // BLOCK) and all(len(w.data) <= BLOCK for w in writes)


def test_putfo_write_error_and_size_mismatch() -> None:
    server = FakeServer()
    sftp = client(server)
    server.write_hook = lambda path, offset, data: (p.StatusPacket(code=Status.PERMISSION_DENIED, message="quota")
                                                    if offset >= 2 * BLOCK else None)  # fmt: skip
    with pytest.raises(PermissionError, match="quota"):
        sftp.putfo(io.BytesIO(os.urandom(4 * BLOCK)), "up.bin")
    server.write_hook = lambda path, offset, data: p.StatusPacket(code=0, message="") if offset else None
    with pytest.raises(OSError, match="size mismatch in put"):  # the server dropped writes yet said OK
        sftp.putfo(io.BytesIO(os.urandom(2 * BLOCK)), "up.bin")


def test_protocol_violation_breaks_the_session() -> None:
    server = FakeServer({b"f": b"1"})
    sftp = client(server)
    server.extra_replies.append(p.encode_packet(p.StatusPacket(request_id=999, code=0)))
    with pytest.raises(SFTPProtocolError, match="999"):
        sftp.stat("f")
    assert sftp.sock.closed
    with pytest.raises(SFTPProtocolError):
        sftp.stat("f")


def test_channel_closed_while_waiting() -> None:
    server = FakeServer({b"f": b"1"})
    sftp = client(server)
    server.handle = lambda packet: None  # type: ignore[method-assign, assignment, return-value]
    server.feed = lambda data: None  # type: ignore[method-assign]
    with pytest.raises(ConnectionLost):
        sftp.stat("f")


def test_extensions_only_when_offered() -> None:
    server = FakeServer(extensions=())
    sftp = client(server)
    before = len(server.requests)
    for call in (lambda: sftp.hardlink("a", "b"), lambda: sftp.posix_rename("a", "b"),
                 lambda: sftp.statvfs("."), lambda: sftp.expand_path("~")):  # fmt: skip
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EOPNOTSUPP
    assert len(server.requests) == before  # nothing was sent


@pytest.mark.parametrize(("extensions", "first"), [(OPENSSH_EXTENSIONS, b"target"), ((), b"link")])
def test_symlink_argument_order(extensions: tuple, first: bytes) -> None:
    server = FakeServer(extensions=extensions)
    client(server).symlink("target", "link")
    request = server.requests[-1]
    assert request.ID == T.SYMLINK and request.first_path == first


def test_listdir_pipelines_readdir_and_skips_dots() -> None:
    server = FakeServer({b"d/" + bytes([97 + i]): b"" for i in range(8)})
    server.reorder = True  # replies to READDIR come back newest first: order must still hold
    sftp = client(server)
    assert sftp.listdir("d") == [bytes([97 + i]).decode() for i in range(8)]
    attrs = sftp.listdir_attr("d")
    assert attrs[0].filename == "a" and attrs[0].longname == "-rw a"
    assert len(list(sftp.listdir_iter("d", read_aheads=2))) == 8


def test_file_object_reads() -> None:
    text = b"".join(b"line %d\n" % i for i in range(5000))
    server = FakeServer({b"t.txt": text})
    sftp = client(server)
    with sftp.open("t.txt") as f:
        assert f.readline() == "line 0\n"
        assert f.tell() == 7
        assert f.read(7) == b"line 1\n"
        f.seek(-8, os.SEEK_END)
        assert f.read() == b"ne 4999\n"
        assert f.read(10) == b""
        f.seek(0)
        assert list(f)[-1] == "line 4999\n"
    with sftp.open("t.txt", "rb") as f:
        f.prefetch()
        assert f.readline() == b"line 0\n"
        assert f.read() == text[7:]
    with sftp.open("t.txt", "rb", bufsize=0) as f:
        assert f.read(300000) == text[:300000]  # larger than one READ: pipelined
        assert b"".join(f.readv([(0, 5), (len(text) - 3, 10), (10, 0), (2 * len(text), 4)])) == (
            text[:5] + text[-3:])  # fmt: skip
        assert list(f.readv([(1, 2), (1, 2)])) == [text[1:3], text[1:3]]


def test_file_object_writes_buffered_and_pipelined() -> None:
    server = FakeServer()
    sftp = client(server)
    with sftp.open("w.bin", "w") as f:
        f.write("abc")
        assert b"w.bin" in server.files and server.files[b"w.bin"] == b""  # still buffered
        f.write(b"x" * 10000)
        f.seek(1)
        f.write(b"B")
    assert bytes(server.files[b"w.bin"]) == b"aBc" + b"x" * 10000
    with sftp.open("w.bin", "a") as f:
        assert f.tell() == 10003
        f.write(b"END")
    assert server.files[b"w.bin"].endswith(b"xEND")
    server.write_hook = lambda path, offset, data: (p.StatusPacket(code=Status.FAILURE, message="late")
                                                    if offset else None)  # fmt: skip
    f = sftp.open("w2.bin", "wb")
    f.set_pipelined(True)
    f.write(b"a" * 100000)
    f.write(b"b" * 10)
    f.flush()  # pipelined: does not wait for the statuses
    with pytest.raises(OSError, match="late"):
        f.close()
    assert f.closed
    with pytest.raises(OSError, match="not open for writing"):
        sftp.open("w.bin", "r").write(b"x")
    with pytest.raises(FileNotFoundError, match="missing"):
        sftp.open("missing")


def test_failure_past_the_end_counts_as_the_end() -> None:
    """A server that fails READs beyond EOF (instead of answering EOF) still gives the file."""
    data = os.urandom(2 * BLOCK + 10)
    server = FakeServer({b"f.bin": data})
    server.reorder = True  # the failure for a later offset may arrive before the EOF

    def past_end(path: bytes, offset: int, length: int) -> p.StatusPacket | None:
        if offset > len(data):
            return p.StatusPacket(code=Status.FAILURE, message="beyond the end")
        return None

    server.read_hook = past_end
    sftp = client(server)
    sftp.read_requests = 8
    out = io.BytesIO()
    with sftp.open("f.bin", "rb") as f:
        pipeline = ReadPipeline(sftp, f.handle, f.name, size_hint=10 * BLOCK)  # told it is larger
        for chunk in pipeline.chunks():
            out.write(chunk)
    assert out.getvalue() == data


def test_stopping_a_transfer_early_keeps_the_session_in_step() -> None:
    data = os.urandom(6 * BLOCK)
    server = FakeServer({b"f.bin": data})
    server.reorder = True
    sftp = client(server)
    with sftp.open("f.bin", "rb") as f:
        chunks = ReadPipeline(sftp, f.handle, f.name, size_hint=len(data)).chunks()
        assert bytes(next(chunks)) == data[:BLOCK]
        chunks.close()  # the consumer gives up with READs in flight
        assert f.read(3) == data[:3]  # later requests get their own replies
    assert sftp.stat("f.bin").st_size == len(data)
    assert not sftp._callbacks or all(cb.__name__ == "_discard" for cb in sftp._callbacks.values())
