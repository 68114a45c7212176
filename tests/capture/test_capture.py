"""Captures: the pcapng is a well-formed TCP conversation and tshark, given the key log,
really decrypts the SSH session (Debian's tshark 4.0: curve25519 and no strict kex)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.capture.keylog import lines_for, mpint_value
from harness.interop import run
from harness.serve import Listener, ServeConfig
from harness.ssh.config import ConnectionConfig
from harness.ssh.kex.engine import KexSecrets
from harness.ssh.keys import Ed25519Key
from harness.transport import Transport

MARKER = b"captured-output-42"


def _tshark(*args: str) -> str:
    binary = shutil.which("tshark")
    assert binary, "tshark is not installed (scripts/setup.sh installs Debian's tshark)"
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def server() -> Iterator[Listener]:
    listener = Listener([Ed25519Key.generate()], ServeConfig(username="u", password="p")).start()
    yield listener
    listener.close()


def _session(server: Listener, out: Path, cipher: str) -> tuple[Path, Path, int]:
    # Wireshark 4.0 has no strict kex (its sequence numbers would not reset) and only curve25519.
    t = Transport(server.address, config=ConnectionConfig(strict_kex=False))
    opts = t.get_security_options()
    opts.kex = ("curve25519-sha256",)
    opts.ciphers = (cipher,)
    t.connect(username="u", password="p", pcap=str(out))
    try:
        assert run(t, f"echo {MARKER.decode()}")[0] == MARKER + b"\n"
    finally:
        t.close()
    assert t.capture_files is not None
    pcap, keys = (Path(p) for p in t.capture_files)
    return pcap, keys, server.address[1]


@pytest.mark.parametrize("cipher", ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"])
def test_tshark_decrypts_the_capture_with_the_key_log(server: Listener, tmp_path: Path, cipher: str) -> None:
    pcap, keys, port = _session(server, tmp_path, cipher)
    decode = ["-r", str(pcap), "-d", f"tcp.port=={port},ssh"]
    # a well-formed conversation: no TCP analysis warnings (lost segments, bad acks, ...)
    assert _tshark(*decode, "-Y", "tcp.analysis.flags") == ""
    assert _tshark(*decode, "-Y", "tcp.flags.syn==1", "-T", "fields", "-e", "tcp.flags").split() == ["0x0002",
                                                                                                     "0x0012"]
    # without the key log the command output is nowhere to be seen
    assert MARKER not in pcap.read_bytes()
    plain = _tshark(*decode, "-V", "-x")
    assert MARKER.hex() not in plain.replace(":", "").replace(" ", "") and MARKER.decode() not in plain
    # with it, tshark decrypts the channel data (the command's output) and the MACs verify
    data = _tshark(*decode, "-o", f"ssh.keylog_file:{keys}", "-Y", "ssh.message_code==94", "-T", "fields",
                   "-e", "ssh.payload")  # fmt: skip
    assert MARKER.hex() in data.replace(":", "")
    verbose = _tshark(*decode, "-o", f"ssh.keylog_file:{keys}", "-V")
    if "gcm" not in cipher:  # 4.0 shows MAC status for chacha20-poly1305
        assert "[MAC Status: Good]" in verbose and "[MAC Status: Bad]" not in verbose
    assert "Channel Data (94)" in verbose and "User Authentication Success (52)" in verbose


def test_key_log_lines() -> None:
    k = bytes([0x80]) + bytes(31)  # needs a sign byte as an mpint
    encoded = len(b"\x00" + k).to_bytes(4, "big") + b"\x00" + k
    assert mpint_value(encoded) == k
    secrets = KexSecrets("curve25519-sha256", True, b"\x01" * 16, b"\x02" * 16, encoded, b"\x03" * 32)
    assert lines_for(secrets) == ["01" * 16 + " SHARED_SECRET 80" + "00" * 31, "01" * 16 + " " + "03" * 32]
    server_side = KexSecrets("curve25519-sha256", False, b"\x01" * 16, b"\x02" * 16, encoded, b"\x03" * 32)
    assert lines_for(server_side)[1].startswith("02" * 16)  # the private value goes with our own cookie
    hybrid = KexSecrets("mlkem768x25519-sha256", True, b"\x01" * 16, b"\x02" * 16, b"\x00\x00\x00\x01x", None)
    assert lines_for(hybrid) == []
    with pytest.raises(ValueError):
        mpint_value(b"\x00\x00\x00\x05ab")


def test_harness_serve_pcap_writes_the_server_side(tmp_path: Path) -> None:
    import re
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--port", "0", "--password", "p", "--user", "u",
                             "--pcap", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=root)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = ""
        for _ in range(5):  # the host key line, then "serving SSH on host:port ..."
            line = proc.stdout.readline()
            if line.startswith("serving"):
                break
        match = re.search(r"on ([\d.]+):(\d+)", line)
        assert match, line
        t = Transport((match[1], int(match[2])), config=ConnectionConfig(strict_kex=False))
        t.get_security_options().kex = ("curve25519-sha256",)
        t.connect(username="u", password="p")
        assert run(t, f"echo {MARKER.decode()}")[0] == MARKER + b"\n"
        t.close()
    finally:
        proc.terminate()
        proc.wait(10)
    pcaps = list(tmp_path.glob("*.pcapng"))
    assert len(pcaps) == 1
    assert _tshark("-r", str(pcaps[0]), "-Y", "tcp.analysis.flags") == ""
    # The server's key-log line carries the server's cookie, which is in its KEXINIT in the capture.
    # (Wireshark 4.0 cannot decrypt this side: our server sends KEXINIT before the client's
    # identification line has arrived, and 4.0 only parses KEXINITs after both versions.)
    lines = pcaps[0].with_suffix(".keys").read_text().splitlines()
    assert len(lines) == 2 and "SHARED_SECRET" in lines[0]
    server_cookie = bytes.fromhex(lines[1].split()[0])
    assert b"\x14" + server_cookie in pcaps[0].read_bytes()
