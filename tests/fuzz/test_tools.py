"""Campaign tooling: CLI wiring, regression notes, minimizer, corpus and dictionary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.fuzz import TARGETS, campaign, fuzz_codec, fuzz_connection
from harness.fuzz.minimize import hang_location, minimize, reproduce

from .strategies import seed_files


def test_cli_lists_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["fuzz", "--list"]) == 0
    out = capsys.readouterr().out
    for name in TARGETS:
        assert name in out
    assert "sftp" in out and "pending" not in out  # the last pending target (sftp) is registered now


def test_parse_duration() -> None:
    assert [campaign.parse_duration(t) for t in ("90", "90s", "5m", "2h")] == [90, 90, 300, 7200]
    with pytest.raises(ValueError):
        campaign.parse_duration("soon")


def _boom(data: bytes) -> None:
    if b"K" in data and data.count(b"x") >= 2:
        raise KeyError("needle")


def test_minimize_keeps_the_same_failure() -> None:
    data = b"aaaxbbbKcccxddd" * 3
    small = minimize(_boom, data)
    assert reproduce(_boom, small) is not None
    assert len(small) == 3 and small.count(b"x") == 2 and b"K" in small


def test_write_regression_note(tmp_path: Path) -> None:
    finding = reproduce(_boom, b"xxK")
    path = campaign.write_regression("codec", b"xxK", finding, "crash", "a test", root=tmp_path)
    assert path is not None and path.read_bytes() == b"xxK"
    meta = campaign.read_note(path.with_suffix(".md"))
    assert meta["status"] == "open" and meta["exception"].startswith("KeyError")
    again = campaign.write_regression("codec", b"xxK", finding, "crash", "again", root=tmp_path)
    assert again is None  # same signature


def test_codec_seeds_cover_every_message_type() -> None:
    from harness.ssh.wire import messages as m

    seen = set()
    for data in seed_files("codec"):
        if data[0] >= fuzz_codec.PRIMITIVES:
            continue
        kctx, actx = fuzz_codec.contexts(data[0])
        try:
            seen.add(m.decode_message(data[1:], kctx, actx).NAME)
        except Exception:
            pass
    missing = {cls.NAME for cls, _, _ in m.every_message_class()} - seen
    assert not missing


def test_connection_seeds_cover_every_phase() -> None:
    codes = {d[0] for d in seed_files("connection") + seed_files("connection_dh") if d}
    assert {p.code for p in fuzz_connection.PHASES} <= codes


def test_dictionary_is_valid() -> None:
    text = (campaign.DICTIONARY).read_text()
    entries = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(entries) > 100
    for line in entries:
        assert re.fullmatch(r'"([\x20-\x21\x23-\x5b\x5d-\x7e]|\\x[0-9a-f]{2})*"', line), line


@pytest.mark.skipif(shutil.which("true") is None, reason="needs a POSIX shell")
def test_campaign_runs_under_libfuzzer(tmp_path: Path) -> None:
    """A tiny real campaign: atheris loads, instruments, runs the seeds, reports stats."""
    pytest.importorskip("atheris")
    cmd = [sys.executable, "-m", "harness", "fuzz", "codec", "--runs", "3000", "--workdir", str(tmp_path)]
    env = dict(os.environ)
    env.pop("HARNESS_FUZZ_INSTRUMENT", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=campaign.ROOT, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (tmp_path / "fuzz.log").read_text()
    assert "Instrumenting harness.ssh.wire.codec" in log
    assert "Done 3000 runs" in log


def test_a_hang_is_signed_by_where_it_hangs() -> None:
    """A real faulthandler dump from a process stuck inside harness code names that frame, so
    two different hangs of one target are two regressions, not one (campaign triage)."""
    script = (
        "import faulthandler, threading\n"
        "from harness.ssh.wire import codec\n"
        "faulthandler.dump_traceback_later(0.5, exit=True)\n"
        "class Endless(bytes):  # a value whose decode never returns: the hang is in codec's frame\n"
        "    def decode(self, *a):\n"
        "        threading.Event().wait()\n"
        "codec.decode_name_list(Endless(b'a'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert "Timeout" in done.stderr, done.stderr
    location = hang_location(done.stderr)
    assert location.startswith("harness/ssh/wire/codec.py:") and location.endswith(" in decode_name_list"), location
    assert hang_location("no stack here") == "-"
