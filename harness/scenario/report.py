"""Results: a JSON file, a Markdown matrix (terminals, CI summaries), a self-contained HTML page
(report_html.py) and JUnit XML (report_junit.py), all from the same list of result rows.

A row is ``Result.to_json()`` of harness/scenario/execute.py. Keys that the outcome model adds
(``outcome``, ``pin``, ``verdict``, ``branch``, ``role``) are read with ``row.get`` so the reports
work with rows written before and after it. The same rows come back from ``results.json``, which
is how ``harness report merge`` joins the shards of a CI matrix into one report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

SYMBOL = {"pass": "pass", "fail": "**FAIL**", "error": "**ERROR**", "xfail": "xfail", "xpass": "**XPASS**",
          "n/a": "n/a"}  # fmt: skip
ORDER = ("pass", "xfail", "n/a", "fail", "xpass", "error")
ATTENTION = ("fail", "error", "xpass")
LEGEND = {
    "pass": "the peer did what the scenario checks (and its pinned outcome, if any, did not change)",
    "xfail": "a known deviation of that peer, with the reason from its expectations file",
    "n/a": "the peer cannot play this scenario (reason in the cell's details)",
    "fail": "the peer did something else than required or pinned: needs attention",
    "xpass": "a known deviation did not happen: update the expectations file",
    "error": "the harness itself failed (or the peer could not start): needs attention",
}
VERDICTS = {
    "conforms": "the observed outcome is what the RFCs require",
    "deviates": "the observed outcome departs from the RFCs (see the reason)",
    "informational": "the RFCs leave the choice open; the outcome is recorded, not judged",
}
ROLES = {"client": ("Server peers", "we are the client; a server peer answers"),
         "server": ("Client peers", "a client peer connects to our server")}  # fmt: skip


def role_of(row: dict[str, Any]) -> str:
    """``client`` (we are the client against a server peer) or ``server``; rows written before
    the outcome model carry no role and were all client-role."""
    return row.get("role") or "client"


def cell_id(row: dict[str, Any]) -> str:
    """A stable HTML id for the (scenario, peer) cell: readable, and unique through a short hash
    (two scenario ids can differ only in characters that ids cannot hold)."""
    key = f"{row['scenario']}@{row['peer']}"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-")
    return f"cell-{readable}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"


def cell_text(row: dict[str, Any]) -> str:
    """Status (and verdict, when the outcome model gave one) with the observed outcome."""
    text = row["status"]
    if row.get("verdict"):
        text += f", {row['verdict']}"
    if row.get("outcome"):
        text += f" ({row['outcome']})"
    return text


PIN_CHANGED = "outcome changed: "  # how execute.check_pin starts the message of a changed pin


def pin_change(row: dict[str, Any]) -> str:
    """"was X, now Y" when the cell failed because its outcome left its pin, else "".

    The comparison itself is execute.check_pin's (alternatives, normalised numbers); the report
    only reads its verdict from the message, so it never disagrees with the run."""
    for line in (row.get("message") or "").splitlines():
        if line.startswith(PIN_CHANGED + "was "):
            return line[len(PIN_CHANGED) :].split(" (pinned in ")[0]
    return ""


def unpinned(results: list[dict[str, Any]]) -> int:
    """Cells with an observed outcome but no pin (the sanity runs around a peer excepted)."""
    return sum(1 for r in results if r.get("outcome") and not r.get("pin") and not r.get("position")
               and r["status"] not in ("n/a", "error"))  # fmt: skip


def needs_attention(results: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Rows someone must look at, with a one-line why: fail/error/xpass and changed pins."""
    chosen = []
    for row in sorted(results, key=lambda r: (r["scenario"], r["peer"])):
        change = pin_change(row)
        if row["status"] in ATTENTION or change:
            first = first_line(row.get("message") or "")
            chosen.append((row, "; ".join(part for part in (change, first) if part) or row["status"]))
    return chosen


def first_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def matrix(results: list[dict[str, Any]]) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, Any]]]:
    """(scenario ids, sanity first; peer ids; cells by (scenario, peer)) of ``results``."""
    peers = sorted({r["peer"] for r in results})
    scenarios = sorted({r["scenario"] for r in results}, key=lambda s: (s.split("/")[0] != "sanity", s))
    cells = {(r["scenario"], r["peer"]): r for r in results}
    return scenarios, peers, cells


def by_role(results: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rows split into server-peer and client-peer tables (only the non-empty ones)."""
    return [(role, rows) for role in ROLES if (rows := [r for r in results if role_of(r) == role])]


def totals(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["status"] for r in results)


def summary(results: list[dict[str, Any]], seed: int | None) -> str:
    count = totals(results)
    scenarios, peers, _ = matrix(results)
    return (f"{len(scenarios)} scenarios x {len(peers)} peers; seed {seed}. "
            + ", ".join(f"{count.get(s, 0)} {s}" for s in ORDER) + ".")  # fmt: skip


def markdown(results: list[dict[str, Any]], seed: int | None = None) -> str:
    lines = ["# Scenario conformance matrix", "", summary(results, seed), "",
             "`pass`: as the protocol requires; `xfail`: a known deviation of that peer (reason below); "
             "`n/a`: the peer cannot play this scenario; **FAIL**/**XPASS**/**ERROR**: needs attention.",
             "Cells read `status[, verdict] (observed outcome)`."]  # fmt: skip
    attention = needs_attention(results)
    if attention:
        lines += ["", "## Needs attention", ""]
        for row, why in attention:
            lines.append(f"- {SYMBOL.get(row['status'], row['status'])} `{row['scenario']}` on {row['peer']}: {why}")
    if unpinned(results) and any("pin" in r for r in results):
        lines += ["", f"{unpinned(results)} cell(s) have no pinned outcome (`harness run --update-outcomes` "
                  "records them)."]  # fmt: skip
    for role, rows in by_role(results):
        title, explanation = ROLES[role]
        scenarios, peers, cells = matrix(rows)
        lines += ["", f"## {title} ({explanation})", "",
                  "| scenario | " + " | ".join(peers) + " |", "|---|" + "---|" * len(peers)]  # fmt: skip
        for sid in scenarios:
            row_cells = []
            for peer in peers:
                r = cells.get((sid, peer))
                text = "" if r is None else SYMBOL.get(r["status"], r["status"]) + cell_text(r)[len(r["status"]):]
                row_cells.append(text.replace("|", "\\|"))
            lines.append(f"| `{sid}` | " + " | ".join(row_cells) + " |")
    xfails = [r for r in results if r["status"] == "xfail"]
    if xfails:
        lines += ["", "## Expected failures (known deviations)", ""]
        for r in sorted(xfails, key=lambda r: (r["scenario"], r["peer"])):
            why = f" — {r['reason']}" if r.get("reason") else ""
            lines.append(f"- `{r['scenario']}` on {r['peer']}{why}: {first_line(r.get('message') or '', 400)}")
    na = [r for r in results if r["status"] == "n/a"]
    if na:
        lines += ["", "## Not applicable", ""]
        for reason, n in Counter(r.get("reason", "") for r in na).most_common():
            lines.append(f"- {n} x {reason}")
    return "\n".join(lines) + "\n"


def html_page(results: list[dict[str, Any]], seed: int | None = None) -> str:
    from harness.scenario.report_html import page

    return page(results, seed)


def write_reports(results: list[dict[str, Any]], out_dir: Path, seed: int | None = None) -> list[Path]:
    """Write results.json, matrix.md, matrix.html and junit.xml to ``out_dir``; returns the paths."""
    from harness.scenario.report_junit import junit_xml

    out_dir.mkdir(parents=True, exist_ok=True)
    results = sorted((_relative_links(r, out_dir) for r in results), key=lambda r: (r["scenario"], r["peer"]))
    paths = [out_dir / "results.json", out_dir / "matrix.md", out_dir / "matrix.html", out_dir / "junit.xml"]
    paths[0].write_text(json.dumps({"seed": seed, "totals": dict(totals(results)), "results": results},
                                   indent=1) + "\n")  # fmt: skip
    paths[1].write_text(markdown(results, seed))
    paths[2].write_text(html_page(results, seed))
    paths[3].write_text(junit_xml(results, seed))
    return paths


LINK_KEYS = ("capture", "keylog")  # row keys holding a path relative to the report directory


def _relative_links(row: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """``row`` with absolute capture paths (from a merge) made relative to ``out_dir``."""
    if not any(os.path.isabs(str(row.get(key) or "")) for key in (*LINK_KEYS, "captures")):
        return row
    row = dict(row)
    for key in LINK_KEYS:
        if row.get(key) and os.path.isabs(row[key]):
            row[key] = os.path.relpath(row[key], out_dir)
    if row.get("captures"):
        row["captures"] = [os.path.relpath(p, out_dir) if os.path.isabs(p) else p for p in row["captures"]]
    return row


def _absolute_links(row: dict[str, Any], shard_dir: Path) -> dict[str, Any]:
    """``row`` with its report-relative capture paths made absolute (they move with a merge)."""
    row = dict(row)
    for key in LINK_KEYS:
        if row.get(key) and not os.path.isabs(row[key]):
            row[key] = str((shard_dir / row[key]).resolve())
    if row.get("captures"):
        row["captures"] = [p if os.path.isabs(p) else str((shard_dir / p).resolve()) for p in row["captures"]]
    return row


class MergeError(ValueError):
    """Shards that cannot be joined (missing results.json, different seeds, the same cell twice)."""


def merge(shard_dirs: list[Path]) -> tuple[list[dict[str, Any]], int | None]:
    """The rows and the seed of several shards' results.json, checked to fit together."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    seeds: dict[int | None, Path] = {}
    for directory in shard_dirs:
        path = directory / "results.json" if directory.is_dir() else directory
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise MergeError(f"{path}: not a readable results.json ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise MergeError(f"{path}: no 'results' list: not written by `harness run`")
        seeds.setdefault(data.get("seed"), path)
        for row in data["results"]:
            key = (row["scenario"], row["peer"])
            if key in rows:
                raise MergeError(f"{path}: {key[0]} on {key[1]} is in two shards: were the shards run with "
                                 "the same --shard N and different I?")  # fmt: skip
            rows[key] = _absolute_links(row, path.parent)
    if len(seeds) > 1:
        raise MergeError("the shards ran with different seeds (" + ", ".join(f"{s} in {p}" for s, p in seeds.items())
                         + "): give every shard the same --seed")  # fmt: skip
    return list(rows.values()), next(iter(seeds), None)
