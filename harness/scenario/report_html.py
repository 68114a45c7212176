"""The scenario report as one self-contained HTML page, readable at a glance.

Layout, top to bottom: the summary line (one seed), a legend, "needs attention" (fail, error,
xpass and changed pins, each a link to its cell), filters (area, peer, outcome, text), one table
of server peers (we are the client) and one of client peers (a client connects to us), then
one details section per cell: outcome, pin, verdict, reason, message, re-run command, capture
link, a message-sequence diagram of the transcript and the transcript itself.

Every cell has an id (report.cell_id), so a link like ``matrix.html#cell-kex-...`` points at it;
its details section has the id ``d-<cell id>`` and opens with CSS ``:target``, so details work
without script. The script only filters (also from the URL: ``matrix.html?outcome=fail&peer=...``).
No external resource is loaded.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import Any

from harness.scenario import sequence_svg
from harness.scenario.report import (
    LEGEND,
    ORDER,
    ROLES,
    VERDICTS,
    by_role,
    cell_id,
    cell_text,
    matrix,
    needs_attention,
    pin_change,
    role_of,
    summary,
    unpinned,
)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1em;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}th{background:#eee;position:sticky;top:0}
td.pass{background:#d8f5d0}td.xfail{background:#fff3c4}td.na{background:#eee;color:#777}
td.fail,td.error,td.xpass{background:#f8c8c8;font-weight:bold}td.empty{background:#fafafa}
td.cell a{color:inherit;text-decoration:none;display:block}td.cell small{font-weight:normal;color:#444}
td.cell:target,td.cell.focus{outline:3px solid #1f5fbf}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:6px;max-height:40em;overflow:auto}
.legend span.sw{display:inline-block;width:1em;height:1em;border:1px solid #999;vertical-align:middle}
.legend ul{display:flex;flex-wrap:wrap;gap:.2em 1.5em;padding-left:1em;margin:.3em 0}.legend li{list-style:none}
.legend p{margin:.3em 0 .3em 1em}.legend summary{cursor:pointer}
.attention{background:#fff0f0;border:1px solid #e0a0a0;padding:4px 1em}
.attention.ok{background:#eefbea;border-color:#9c9}
.attention h2{font-size:1.2em;margin:.3em 0}
section.detail{display:none}section.detail:target{display:block;position:fixed;inset:2% 3%;overflow:auto;
background:#fff;border:2px solid #888;padding:0 1em 1em;box-shadow:0 0 0 100vmax rgba(0,0,0,.35);z-index:2}
section.detail dt{font-weight:bold}section.detail a.close{float:right;font-size:20px;text-decoration:none}
.hidden{display:none}.dim{opacity:.25}#filters label{margin-right:1em}svg.seq{background:#fff;border:1px solid #ddd}
"""

_SCRIPT = """
const controls = ['f-area', 'f-peer', 'f-outcome', 'f-text'].map(id => document.getElementById(id));
function matches(td, outcome) {
  return !outcome || td.dataset.status === outcome || td.dataset.verdict === outcome || td.dataset.pin === outcome;
}
function apply() {
  const [area, peer, outcome, text] = controls.map(c => c.value.toLowerCase());
  let shown = 0;
  for (const table of document.querySelectorAll('table.matrix')) {
    for (const cell of table.querySelectorAll('[data-peer]')) {
      cell.classList.toggle('hidden', Boolean(peer) && cell.dataset.peer.toLowerCase() !== peer);
    }
    for (const tr of table.querySelectorAll('tbody tr')) {
      const sid = tr.dataset.sid.toLowerCase();
      let any = false;
      for (const td of tr.querySelectorAll('td.cell')) {
        const ok = matches(td, outcome) && !td.classList.contains('hidden');
        td.classList.toggle('dim', !ok);
        any = any || ok;
      }
      const visible = any && (!area || tr.dataset.area === area) && (!text || sid.includes(text));
      tr.classList.toggle('hidden', !visible);
      if (visible) shown += 1;
    }
  }
  document.getElementById('shown').textContent = shown + ' scenario rows shown';
}
for (const c of controls) { c.addEventListener('input', apply); c.addEventListener('change', apply); }
// a filtered view can be linked: matrix.html?area=kex&peer=openssh-9.2&outcome=fail&q=strict
const params = new URLSearchParams(location.search);
for (const [name, control] of [['area', 0], ['peer', 1], ['outcome', 2], ['q', 3]]) {
  if (params.has(name)) controls[control].value = params.get(name).toLowerCase();
}
apply();
"""


def _options(values: list[str]) -> str:
    return '<option value="">any</option>' + "".join(
        f'<option value="{escape(v.lower(), quote=True)}">{escape(v)}</option>' for v in values)


def _legend() -> str:
    statuses = [f'<li title="{escape(LEGEND[status], quote=True)}">'
                f'<span class="sw" style="background:{colour}"></span> '
                f"<b>{status}</b>: {escape(LEGEND[status].split(':')[0].split(' (')[0])}</li>"
                for status, colour in (("pass", "#d8f5d0"), ("xfail", "#fff3c4"), ("n/a", "#eee"), ("fail", "#f8c8c8"),
                                       ("xpass", "#f8c8c8"), ("error", "#f8c8c8"))]  # fmt: skip
    verdicts = "; ".join(f"<b>{verdict}</b>: {escape(text)}" for verdict, text in VERDICTS.items())
    return ('<details class="legend" open><summary>Legend</summary><ul>' + "".join(statuses) + "</ul>"
            f"<p>Verdicts: {verdicts}.</p><p>A cell reads <code>status[, verdict]</code> over the peer's observed "
            "outcome (<code>continued</code>, <code>DISCONNECT ...</code>, <code>silent</code>, <code>reset</code>, "
            "...). An empty cell: that peer was not run for that scenario (not selected, or another shard).</p>"
            "</details>")  # fmt: skip


def _attention(results: list[dict[str, Any]]) -> str:
    chosen = needs_attention(results)
    count = unpinned(results) if any("pin" in r for r in results) else 0
    note = (f"<p>{count} cell(s) have no pinned outcome (<code>harness run --update-outcomes</code> records "
            "them).</p>") if count else ""  # fmt: skip
    if not chosen:
        return ('<div class="attention ok"><h2>Needs attention</h2>'
                f"<p>Nothing: no fail, error, xpass or changed pin.</p>{note}</div>")
    items = [f'<li><a href="#d-{cell_id(r)}"><b>{escape(r["status"].upper())}</b> <code>{escape(r["scenario"])}</code> '
             f"on {escape(r['peer'])}</a>: {escape(why)}</li>" for r, why in chosen]  # fmt: skip
    return f'<div class="attention"><h2>Needs attention ({len(chosen)})</h2><ul>{"".join(items)}</ul>{note}</div>'


def _table(role: str, rows: list[dict[str, Any]]) -> str:
    title, explanation = ROLES[role]
    scenarios, peers, cells = matrix(rows)
    body = []
    for sid in scenarios:
        tds = []
        area = ""
        for peer in peers:
            r = cells.get((sid, peer))
            if r is None:
                tds.append(f'<td class="empty" data-peer="{escape(peer, quote=True)}" title="not run"></td>')
                continue
            area = r.get("area") or sid.split("/")[0]
            status, outcome = r["status"], r.get("outcome") or ""
            label = status + (f", {r['verdict']}" if r.get("verdict") else "")
            tip = r.get("reason") or (r.get("message") or "").split("\n")[0][:200]
            tds.append(f'<td id="{cell_id(r)}" class="cell {status.replace("n/a", "na")}" '
                       f'data-peer="{escape(peer, quote=True)}" data-status="{escape(status, quote=True)}" '
                       f'data-verdict="{escape(r.get("verdict") or "", quote=True)}" '
                       f'data-pin="{"changed" if pin_change(r) else ""}" title="{escape(tip, quote=True)}">'
                       f'<a href="#d-{cell_id(r)}">{escape(label)}'
                       + (f"<br><small>{escape(outcome)}</small>" if outcome else "") + "</a></td>")  # fmt: skip
        doc = next((c.get("doc", "") for c in rows if c["scenario"] == sid), "")
        body.append(f'<tr data-sid="{escape(sid, quote=True)}" data-area="{escape(area.lower(), quote=True)}">'
                    f'<td title="{escape(doc or "", quote=True)}"><code>{escape(sid)}</code></td>'
                    f'{"".join(tds)}</tr>')  # fmt: skip
    head = "".join(f'<th data-peer="{escape(p, quote=True)}">{escape(p)}</th>' for p in peers)
    return (f"<h2>{title} <small>({escape(explanation)})</small></h2>"
            f'<table class="matrix" data-role="{role}"><thead><tr><th>scenario</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")  # fmt: skip


def _detail(r: dict[str, Any]) -> str:
    role = role_of(r)
    fields = [("status", r["status"]), ("verdict", r.get("verdict")), ("observed outcome", r.get("outcome")),
              ("pinned outcome", r.get("pin")), ("pin change", pin_change(r)), ("branch", r.get("branch")),
              ("reason", r.get("reason")), ("scenario", r.get("doc")), ("seconds", r.get("seconds"))]  # fmt: skip
    parts = [f'<section class="detail" id="d-{cell_id(r)}"><a class="close" href="#{cell_id(r)}" title="close">'
             f'&#x2715;</a><h3>{escape(r["scenario"])} against {escape(r["peer"])}: '
             f'{escape(cell_text(r))} <a href="#{cell_id(r)}">(cell)</a></h3><dl>']  # fmt: skip
    parts += [f"<dt>{name}</dt><dd>{escape(str(value))}</dd>" for name, value in fields if value not in (None, "")]
    if r.get("rerun"):
        parts.append(f"<dt>re-run alone (from any directory)</dt><dd><code>{escape(r['rerun'])}</code></dd>")
    if r.get("capture"):
        parts.append(f'<dt>capture</dt><dd><a href="{escape(r["capture"], quote=True)}">{escape(r["capture"])}</a>'
                     + (f' and key log <a href="{escape(r["keylog"], quote=True)}">{escape(r["keylog"])}</a>'
                        if r.get("keylog") else "") + "</dd>")  # fmt: skip
        port = r["capture"].rsplit("_", 1)[-1].removesuffix(".pcapng")
        if r.get("keylog") and port.isdigit():  # the port is not 22: Wireshark must be told it is SSH
            parts.append(f"<dt>open with</dt><dd><code>tshark -r {escape(r['capture'])} -d tcp.port=={port},ssh "
                         f"-o ssh.keylog_file:{escape(r['keylog'])} -V</code> "
                         "(paths relative to this page)</dd>")  # fmt: skip
    parts.append("</dl>")
    if r.get("message"):
        parts.append(f"<b>message</b><pre>{escape(r['message'])}</pre>")
    transcript = r.get("transcript") or ""
    if transcript:
        us = "harness (client)" if role == "client" else "harness (server)"
        parts.append("<b>message sequence</b><div>" + sequence_svg.render(transcript, us, r["peer"]) + "</div>")
        parts.append(f"<details><summary>transcript (text)</summary><pre>{escape(transcript)}</pre></details>")
    if r.get("peer_log"):
        parts.append(f"<details><summary>log of {escape(r['peer'])}</summary>"
                     f"<pre>{escape(r['peer_log'])}</pre></details>")
    parts.append("</section>")
    return "".join(parts)


def page(results: list[dict[str, Any]], seed: int | None = None) -> str:
    """The whole page for ``results`` (rows of Result.to_json) run with base ``seed``."""
    results = sorted(results, key=lambda r: (r["scenario"], r["peer"]))
    areas = sorted({r.get("area") or r["scenario"].split("/")[0] for r in results})
    peers = sorted({r["peer"] for r in results})
    outcomes = list(ORDER) + [v for v in VERDICTS if any(r.get("verdict") == v for r in results)]
    if any(pin_change(r) for r in results):
        outcomes.append("changed")
    tables = "".join(_table(role, rows) for role, rows in by_role(results))
    details = "".join(_detail(r) for r in results)
    data = json.dumps({"seed": seed, "cells": len(results)}).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scenario conformance matrix</title><style>{_STYLE}</style></head>
<body><h1>Scenario conformance matrix</h1>
<p>{escape(summary(results, seed))} Generated {time.strftime("%Y-%m-%d %H:%M:%S")}.
Click a cell for its details, message sequence and transcript; every cell can be linked.</p>
{_legend()}
{_attention(results)}
<p id="filters"><label>area <select id="f-area">{_options(areas)}</select></label>
<label>peer <select id="f-peer">{_options(peers)}</select></label>
<label>outcome <select id="f-outcome">{_options(outcomes)}</select></label>
<label>scenario <input id="f-text" placeholder="id contains..."></label> <span id="shown"></span></p>
{tables}
{details}
<script type="application/json" id="data">{data}</script>
<script>{_SCRIPT}</script></body></html>
"""
