"""JUnit XML of the scenario results, written from the result rows (not by pytest).

Why our own: pytest's junitxml puts the whole failure text (message, transcript, peer log) in
the ``message`` attribute, which CI systems show as a one-line title. Here the message is the
first line (at most 300 characters), the full message sits in the failure body, and the
transcript, peer log and re-run command go to ``system-out``. Writing it from the rows also lets
``harness report merge`` produce one JUnit file for the shards of a CI matrix.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from harness.scenario.report import cell_text, first_line, pin_change, totals

MESSAGE_CHARS = 300  # CI systems show the message as a title; longer text goes to the body
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # XML 1.0 cannot hold these


def _clean(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids (a peer log's escape codes) shown as "?"."""
    return _NOT_XML.sub("?", text)


def _system_out(row: dict[str, Any], seed: int | None) -> str:
    parts = [f"{row['scenario']} against {row['peer']}: {cell_text(row)}", f"seed: {seed}"]
    if row.get("rerun"):
        parts.append(f"re-run alone: {row['rerun']}")
    if row.get("capture"):
        parts.append(f"capture: {row['capture']}" + (f" (key log {row['keylog']})" if row.get("keylog") else ""))
    if row.get("transcript"):
        parts += ["", "--- decoded transcript (>> we sent, << peer sent) ---", row["transcript"]]
    if row.get("peer_log"):
        parts += ["", f"--- log of {row['peer']} (tail) ---", row["peer_log"]]
    return _clean("\n".join(parts) + "\n")


def testcase(row: dict[str, Any], seed: int | None) -> ET.Element:
    """One <testcase> for a result row."""
    area = row.get("area") or row["scenario"].split("/")[0]
    case = ET.Element("testcase", classname=f"scenarios.{area}", name=f"{row['scenario']}@{row['peer']}",
                      time=f"{float(row.get('seconds') or 0):.3f}")  # fmt: skip
    status, message = row["status"], row.get("message") or ""
    change = pin_change(row)
    if status in ("fail", "xpass") or (change and status != "error"):
        element = ET.SubElement(case, "failure", message=_clean(first_line(change or message, MESSAGE_CHARS)) or status,
                                type=status)  # fmt: skip
        element.text = _clean(message)
    elif status == "error":
        short = _clean(first_line(message, MESSAGE_CHARS)) or status
        element = ET.SubElement(case, "error", message=short, type=status)
        element.text = _clean(message)
    elif status in ("n/a", "xfail"):
        why = f"{status}: {row.get('reason') or ''}".strip()
        ET.SubElement(case, "skipped", message=_clean(first_line(why, MESSAGE_CHARS)), type=status)
    ET.SubElement(case, "system-out").text = _system_out(row, seed)
    return case


def junit_xml(results: list[dict[str, Any]], seed: int | None) -> str:
    """The JUnit document (one <testsuite> named "scenarios") for ``results``."""
    count = totals(results)
    failures = sum(1 for r in results if r["status"] in ("fail", "xpass") or (pin_change(r) and r["status"] != "error"))
    suite = ET.Element("testsuite", name="scenarios", tests=str(len(results)), failures=str(failures),
                       errors=str(count.get("error", 0)), skipped=str(count.get("n/a", 0) + count.get("xfail", 0)),
                       time=f"{sum(float(r.get('seconds') or 0) for r in results):.3f}")  # fmt: skip
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="seed", value=str(seed))
    for row in sorted(results, key=lambda r: (r["scenario"], r["peer"])):
        suite.append(testcase(row, seed))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
