"""The scenario report: tables per role, legend, needs attention, anchors, sequence diagrams,
short JUnit messages, one seed; rendered for real in headless chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.scenario import sequence_svg
from harness.scenario.report import MergeError, cell_id, markdown, merge, needs_attention, write_reports
from harness.scenario.report_html import page
from harness.scenario.report_junit import junit_xml

TRANSCRIPT = """   0.001 >> [seq 0] KexInit(cookie=...)
   0.004 << [seq 0] KexInit(cookie=...)
   0.005 -- tamper: drop NEWKEYS
... 3 lines omitted ...
   0.020 << [seq 3] Disconnect(reason=2, description='bad <packet>')
   0.021 !! our core rejected the peer's input: ProtocolError: boom"""

ROWS = [
    {"scenario": "kex/strict", "area": "kex", "peer": "openssh-9.2", "status": "pass", "role": "client",
     "outcome": "continued", "pin": "continued", "verdict": "conforms", "seed": 99,
     "rerun": "pytest 'x' --scenario-seed 5"},
    {"scenario": "kex/strict", "area": "kex", "peer": "dropbear-2022.83", "status": "fail", "role": "client",
     "outcome": 'DISCONNECT PROTOCOL_ERROR(2) "bad packet"', "pin": "continued", "verdict": "deviates",
     "message": 'outcome changed: was continued, now DISCONNECT PROTOCOL_ERROR(2) "bad packet" (pinned in '
                "pins/dropbear-2022.83.toml; review, then `harness run --update-outcomes`)\n" + "x" * 2000,
     "transcript": TRANSCRIPT, "peer_log": "log line \x1b[31m red"},
    {"scenario": "auth/none", "area": "auth", "peer": "openssh-9.2", "status": "n/a", "reason": "no password"},
    {"scenario": "kex/no_common_kex_client", "area": "kex", "peer": "dbclient", "status": "xfail", "role": "server",
     "reason": "known <deviation>", "message": "step 1: expected X; got Y", "transcript": TRANSCRIPT},
    {"scenario": "sanity/server_handshake", "area": "sanity", "peer": "openssh-client", "status": "fail",
     "role": "server", "outcome": "continued", "pin": "silent 2 s | reset", "capture": "captures/a_41234.pcapng",
     "keylog": "captures/a_41234.keys",
     "message": "outcome changed: was silent 2 s | reset, now continued (pinned in pins/openssh-client.toml; "
                "review, then `harness run --update-outcomes`)"},
]  # fmt: skip


def test_sequence_diagram_has_an_arrow_per_packet_and_notes() -> None:
    svg = sequence_svg.render(TRANSCRIPT, "harness (client)", "openssh-9.2")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polygon") == 3  # two >>/<< arrows plus the DISCONNECT
    assert svg.count("<rect") == 2 + 3  # two lifeline heads, the note, the omission marker, the !! error
    assert "bad &lt;packet&gt;" in svg and "<packet>" not in svg
    assert svg.count("#b02020") == 4  # the DISCONNECT arrow (line, head, label) and the error box are red
    assert sequence_svg.render("") == ""


def test_needs_attention_lists_failures_and_changed_pins() -> None:
    chosen = {(r["scenario"], r["peer"]): why for r, why in needs_attention(ROWS)}
    assert set(chosen) == {("kex/strict", "dropbear-2022.83"), ("sanity/server_handshake", "openssh-client")}
    assert chosen[("sanity/server_handshake", "openssh-client")].startswith("was silent 2 s | reset, now continued")
    assert chosen[("kex/strict", "dropbear-2022.83")].startswith('was continued, now DISCONNECT PROTOCOL_ERROR(2) "')


def test_html_splits_roles_and_anchors_every_cell() -> None:
    html = page(ROWS, 42)
    assert html.count('<table class="matrix"') == 2
    assert html.index("Server peers") < html.index("Client peers")
    ids = re.findall(r'<td id="([^"]+)"', html)
    assert len(ids) == len(ROWS) == len(set(ids))
    for row in ROWS:  # each cell links to its details section, which links back
        assert f'id="d-{cell_id(row)}"' in html and f'href="#d-{cell_id(row)}"' in html
    assert "Legend" in html and "Needs attention (2)" in html
    assert html.count("<svg") == 2 and "known &lt;deviation&gt;" in html
    assert 'href="captures/a_41234.pcapng"' in html and "-d tcp.port==41234,ssh" in html
    assert "seed 42" in html and "seed 99" not in html  # one seed: the base seed, not the derived ones
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html


def test_markdown_has_a_table_per_role_and_attention_first() -> None:
    text = markdown(ROWS, 42)
    assert text.index("## Needs attention") < text.index("## Server peers") < text.index("## Client peers")
    assert "| `kex/strict` | **FAIL**, deviates (DISCONNECT" in text
    assert "was silent 2 s | reset, now continued" in text


def test_junit_message_is_short_and_transcript_in_system_out() -> None:
    root = ET.fromstring(junit_xml(ROWS, 42))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") == "2"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["kex/strict@dropbear-2022.83"].find("failure")
    assert failure is not None
    assert failure.get("message") == "was continued, now DISCONNECT PROTOCOL_ERROR(2) \"bad packet\""
    assert "x" * 2000 in (failure.text or "")
    out = cases["kex/strict@dropbear-2022.83"].findtext("system-out") or ""
    assert "decoded transcript" in out and "KexInit" in out and "\x1b" not in out
    skipped = cases["kex/no_common_kex_client@dbclient"].find("skipped")
    assert skipped is not None and skipped.get("message") == "xfail: known <deviation>"
    assert all(len(e.get("message") or "") <= 300 for e in suite.iter() if e.tag in ("failure", "error", "skipped"))


def test_merge_refuses_overlap_and_mixed_seeds(tmp_path: Path) -> None:
    write_reports(ROWS[:2], tmp_path / "a", 1)
    write_reports(ROWS[2:], tmp_path / "b", 1)
    write_reports(ROWS[1:3], tmp_path / "c", 1)
    write_reports(ROWS[2:], tmp_path / "d", 2)
    rows, seed = merge([tmp_path / "a", tmp_path / "b"])
    assert seed == 1 and len(rows) == len(ROWS)
    with pytest.raises(MergeError, match="in two shards"):
        merge([tmp_path / "a", tmp_path / "c"])
    with pytest.raises(MergeError, match="different seeds"):
        merge([tmp_path / "a", tmp_path / "d"])
    with pytest.raises(MergeError, match="not a readable results"):
        merge([tmp_path / "missing"])


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]  # fmt: skip


def _chromium(url: str, profile: Path, *extra: str) -> tuple[str, str]:
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (scripts/setup.sh installs Debian's chromium)"
    done = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return done.stdout, done.stderr


def _console(stderr: str) -> list[str]:
    """Lines of the page's console (messages and uncaught exceptions) in chromium's log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_page_renders_in_headless_chromium_and_filters(tmp_path: Path) -> None:
    paths = write_reports(ROWS, tmp_path / "report", 42)
    url = paths[2].as_uri()
    # the console check can fail: a page with an error is seen as one
    (tmp_path / "bad.html").write_text("<script>missingFunction()</script>")
    _, stderr = _chromium((tmp_path / "bad.html").as_uri(), tmp_path / "profile0", "--dump-dom")
    assert any("Uncaught ReferenceError" in line for line in _console(stderr)), stderr[-2000:]

    shot = tmp_path / "matrix.png"
    _, stderr = _chromium(url, tmp_path / "profile1", f"--screenshot={shot}", "--window-size=1300,1100")
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _console(stderr) == []
    # the filters: only failing cells' rows stay visible
    dom, stderr = _chromium(url + "?outcome=fail", tmp_path / "profile2", "--dump-dom")
    assert _console(stderr) == []
    visible = re.findall(r'<tr data-sid="([^"]+)" data-area="[^"]*">', dom)
    assert visible == ["kex/strict", "sanity/server_handshake"], visible
    assert "2 scenario rows shown" in dom
    dom, _ = _chromium(url + "?peer=dbclient", tmp_path / "profile3", "--dump-dom")
    assert re.findall(r'<tr data-sid="([^"]+)" data-area="[^"]*">', dom) == ["kex/no_common_kex_client"]
    # a cell's details open from its link (CSS :target)
    target = f"#d-{cell_id(ROWS[1])}"
    _, stderr = _chromium(url + target, tmp_path / "profile4", f"--screenshot={tmp_path / 'detail.png'}",
                          "--window-size=1300,900")  # fmt: skip
    assert _console(stderr) == [] and (tmp_path / "detail.png").stat().st_size > 10_000
    keep = os.environ.get("HARNESS_KEEP_SCREENSHOTS")  # a directory, to look at the pictures
    if keep:
        shutil.copy(shot, Path(keep) / "report-matrix.png")
        shutil.copy(tmp_path / "detail.png", Path(keep) / "report-detail.png")


def test_merge_keeps_capture_links_working(tmp_path: Path) -> None:
    shard = tmp_path / "shards" / "shard-1"
    (shard / "pcap").mkdir(parents=True)
    (shard / "pcap" / "a.pcapng").write_bytes(b"x")
    row = dict(ROWS[0], capture="pcap/a.pcapng", keylog="pcap/a.keys", captures=["pcap/a.pcapng"])
    write_reports([row], shard, 1)
    rows, _ = merge([shard])
    out = tmp_path / "merged"
    write_reports(rows, out, 1)
    merged = json.loads((out / "results.json").read_text())["results"][0]
    assert merged["capture"] == "../shards/shard-1/pcap/a.pcapng"
    assert (out / merged["capture"]).read_bytes() == b"x"
    assert merged["captures"] == [merged["capture"]] and merged["keylog"] == "../shards/shard-1/pcap/a.keys"
