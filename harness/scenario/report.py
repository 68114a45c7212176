"""Results: a JSON file, a Markdown matrix (terminals, CI summaries) and a self-contained HTML
page with a filter (scenario x peer; click a cell for the details and transcript)."""

from __future__ import annotations

import html
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

SYMBOL = {"pass": "pass", "fail": "**FAIL**", "error": "**ERROR**", "xfail": "xfail", "xpass": "**XPASS**",
          "n/a": "n/a"}  # fmt: skip
ORDER = ("pass", "xfail", "n/a", "fail", "xpass", "error")


def _matrix(results: list[dict[str, Any]]) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, Any]]]:
    peers = sorted({r["peer"] for r in results})
    scenarios = sorted({r["scenario"] for r in results}, key=lambda s: (s.split("/")[0] != "sanity", s))
    cells = {(r["scenario"], r["peer"]): r for r in results}
    return scenarios, peers, cells


def totals(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["status"] for r in results)


def markdown(results: list[dict[str, Any]], seed: int | None = None) -> str:
    scenarios, peers, cells = _matrix(results)
    count = totals(results)
    lines = ["# Scenario conformance matrix", "",
             f"{len(scenarios)} scenarios x {len(peers)} peers; base seed {seed}. "
             + ", ".join(f"{count.get(s, 0)} {s}" for s in ORDER) + ".", "",
             "`pass`: as the protocol requires; `xfail`: a known deviation of that peer (reason below); "
             "`n/a`: the peer cannot play this scenario; **FAIL**/**XPASS**/**ERROR**: needs attention.", "",
             "| scenario | " + " | ".join(peers) + " |", "|---|" + "---|" * len(peers)]  # fmt: skip
    for sid in scenarios:
        row = []
        for peer in peers:
            r = cells.get((sid, peer))
            if r is None:
                row.append("")
                continue
            text = SYMBOL.get(r["status"], r["status"])
            if r.get("outcome"):
                text += f" ({r['outcome']})"
            row.append(text)
        lines.append(f"| `{sid}` | " + " | ".join(row) + " |")
    for title, wanted in (("Expected failures (known deviations)", ("xfail",)),
                          ("Needs attention", ("fail", "xpass", "error"))):  # fmt: skip
        chosen = [r for r in results if r["status"] in wanted]
        if chosen:
            lines += ["", f"## {title}", ""]
            for r in sorted(chosen, key=lambda r: (r["scenario"], r["peer"])):
                first = (r.get("message") or "").splitlines()[0][:400] if r.get("message") else ""
                why = f" — {r['reason']}" if r.get("reason") else ""
                lines.append(f"- `{r['scenario']}` on {r['peer']}{why}: {first}")
    na = [r for r in results if r["status"] == "n/a"]
    if na:
        lines += ["", "## Not applicable", ""]
        for reason, n in Counter(r["reason"] for r in na).most_common():
            lines.append(f"- {n} x {reason}")
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1em}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 6px}th{background:#eee;position:sticky;top:0}
td.pass{background:#d8f5d0}td.xfail{background:#fff3c4}td.na{background:#eee;color:#777}
td.fail,td.error,td.xpass{background:#f8c8c8;font-weight:bold}td.cell{cursor:pointer}
pre{white-space:pre-wrap;background:#f6f6f6;padding:6px;max-height:40em;overflow:auto}
#detail{border-top:2px solid #888;margin-top:1em}.hidden{display:none}
"""

_SCRIPT = """
const data = JSON.parse(document.getElementById('data').textContent);
function apply(){
  const q = document.getElementById('q').value.toLowerCase();
  const st = document.getElementById('status').value;
  for (const tr of document.querySelectorAll('tbody tr')) {
    const sid = tr.dataset.sid.toLowerCase();
    const statuses = tr.dataset.statuses.split(' ');
    const ok = (!q || sid.includes(q)) && (!st || statuses.includes(st));
    tr.classList.toggle('hidden', !ok);
  }
}
function show(key){
  const r = data[key];
  const d = document.getElementById('detail');
  d.innerHTML = '';
  const h = document.createElement('h3'); h.textContent = r.scenario + ' against ' + r.peer + ': ' + r.status;
  d.appendChild(h);
  for (const k of ['doc','reason','outcome','message','rerun','seed','seconds','transcript','peer_log']) {
    if (r[k] === '' || r[k] === undefined || r[k] === null) continue;
    const p = document.createElement('div'); const b = document.createElement('b'); b.textContent = k + ': ';
    p.appendChild(b);
    const pre = document.createElement(k === 'transcript' || k === 'message' || k === 'peer_log' ? 'pre' : 'span');
    pre.textContent = String(r[k]); p.appendChild(pre); d.appendChild(p);
  }
  d.scrollIntoView();
}
document.getElementById('q').addEventListener('input', apply);
document.getElementById('status').addEventListener('change', apply);
for (const td of document.querySelectorAll('td.cell')) td.addEventListener('click', () => show(td.dataset.key));
"""


def html_page(results: list[dict[str, Any]], seed: int | None = None) -> str:
    scenarios, peers, cells = _matrix(results)
    count = totals(results)
    data: dict[str, Any] = {}
    rows = []
    for sid in scenarios:
        tds, statuses = [], set()
        for peer in peers:
            r = cells.get((sid, peer))
            if r is None:
                tds.append("<td></td>")
                continue
            key = f"{sid}@{peer}"
            data[key] = r
            statuses.add(r["status"])
            cls = r["status"].replace("n/a", "na")
            label = r["status"] + (f" ({r['outcome']})" if r.get("outcome") else "")
            title = html.escape(r.get("reason") or (r.get("message") or "").split("\n")[0][:200], quote=True)
            tds.append(f'<td class="cell {cls}" data-key="{html.escape(key, quote=True)}" title="{title}">'
                       f"{html.escape(label)}</td>")  # fmt: skip
        doc = html.escape(next((c.get("doc", "") for c in cells.values() if c["scenario"] == sid), ""), quote=True)
        rows.append(f'<tr data-sid="{html.escape(sid, quote=True)}" data-statuses="{" ".join(sorted(statuses))}">'
                    f'<td title="{doc}"><code>{html.escape(sid)}</code></td>{"".join(tds)}</tr>')  # fmt: skip
    options = "".join(f'<option value="{s}">{s}</option>' for s in ORDER)
    summary = ", ".join(f"{count.get(s, 0)} {s}" for s in ORDER)
    payload = json.dumps(data).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Scenario conformance matrix</title><style>{_STYLE}</style></head>
<body><h1>Scenario conformance matrix</h1>
<p>{len(scenarios)} scenarios x {len(peers)} peers; base seed {seed}; {summary}. Generated
{time.strftime("%Y-%m-%d %H:%M:%S")}. Click a cell for details and the decoded transcript.</p>
<p>Filter: <input id="q" placeholder="scenario id contains..."> status: <select id="status">
<option value="">any</option>{options}</select></p>
<table><thead><tr><th>scenario</th>{"".join(f"<th>{html.escape(p)}</th>" for p in peers)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<div id="detail"></div>
<script type="application/json" id="data">{payload}</script>
<script>{_SCRIPT}</script></body></html>
"""


def write_reports(results: list[dict[str, Any]], out_dir: Path, seed: int | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    results = sorted(results, key=lambda r: (r["scenario"], r["peer"]))
    paths = [out_dir / "results.json", out_dir / "matrix.md", out_dir / "matrix.html"]
    paths[0].write_text(json.dumps({"seed": seed, "totals": dict(totals(results)), "results": results},
                                   indent=1) + "\n")  # fmt: skip
    paths[1].write_text(markdown(results, seed))
    paths[2].write_text(html_page(results, seed))
    return paths
