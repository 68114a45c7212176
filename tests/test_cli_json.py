"""Machine-readable output: `--json` puts one JSON document, and nothing else, on stdout;
`harness interop` also writes JUnit XML and, with --pcap, one capture per connection."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.jsonout import emit_json
from harness.matrix import Cell, junit

ROOT = Path(__file__).resolve().parents[1]


def _harness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)  # fmt: skip


def test_emit_json_moves_child_process_output_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    def produce() -> tuple[int, dict[str, int]]:
        print("progress line")
        subprocess.run(["echo", "from a child process"], check=True)
        return 3, {"answer": 42}

    assert emit_json(produce) == 3
    out, err = capfd.readouterr()
    assert json.loads(out) == {"answer": 42}
    assert "progress line" in err and "from a child process" in err


def test_interop_junit_has_short_messages() -> None:
    cells = [Cell("p", "kex", "curve25519-sha256", "pass", seconds=0.5),
             Cell("p", "ciphers", "aes128-ctr", "FAIL", "AssertionError: boom\nTraceback...\n" + "x" * 5000),
             Cell("p", "macs", "hmac-md5", "n/a", "p does not offer it")]  # fmt: skip
    suite = ET.fromstring(junit(cells)).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == "AssertionError: boom"
    assert "x" * 5000 in (failure.text or "")


@pytest.mark.docker
def test_interop_json_junit_and_captures(tmp_path: Path) -> None:
    """tinysshd offers few algorithms, so its whole column takes seconds."""
    done = _harness("interop", "--peer", "tinyssh", "--launcher", "docker", "--no-bulk", "--json",
                    "--out", str(tmp_path / "out"), "--pcap", str(tmp_path / "pcap"))  # fmt: skip
    document = json.loads(done.stdout)  # the whole of stdout is the document
    assert done.returncode == 0, done.stderr[-3000:]
    assert document["peers"] == ["tinyssh"] and document["totals"]["pass"] >= 5 and document["totals"]["FAIL"] == 0
    assert "== tinyssh" in done.stderr  # the progress went to stderr
    suite = ET.parse(tmp_path / "out" / "interop-junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(document["cells"]))
    pcaps = sorted((tmp_path / "pcap").glob("*.pcapng"))
    # one capture (and key log) per connection: every passing cell connected at least once
    assert len(pcaps) >= document["totals"]["pass"]
    assert all(p.with_suffix(".keys").exists() and p.stat().st_size > 1000 for p in pcaps)
    # a real peer's session decrypts with our key log: the curve25519 cell's exec request shows
    curve = next(p for p in pcaps if len(p.with_suffix(".keys").read_text().splitlines()) == 2)
    port = curve.stem.rsplit("_", 1)[1]
    shown = subprocess.run(["tshark", "-r", str(curve), "-d", f"tcp.port=={port},ssh", "-o",
                            f"ssh.keylog_file:{curve.with_suffix('.keys')}", "-Y", "ssh.message_code==98", "-T",
                            "fields", "-e", "ssh.payload"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert b"printf oops".hex() in shown.stdout.replace(":", ""), shown.stderr


def test_fuzz_replay_json() -> None:
    done = _harness("fuzz", "--replay", "codec", "--json")
    document = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr[-3000:]
    assert document["inputs"] > 10 and document["failing"] == 0
    assert {r["target"] for r in document["results"]} == {"codec"}
    assert _harness("fuzz", "codec", "--json").returncode == 2  # --json belongs to --replay
