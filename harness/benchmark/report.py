"""Targets (issues 8 and 9), the terminal table and the Markdown summary of one benchmark run."""

from __future__ import annotations

from typing import Any

from harness.benchmark import sftp

# (cipher label, direction) -> most client CPU ms per MB our client may spend against sshd.
CPU_TARGETS = {
    ("aes128-gcm", "down"): 0.5,
    ("aes128-gcm", "up"): 0.65,
    ("aes128-ctr+hmac-sha2-256", "down"): 1.0,
    ("aes128-ctr+hmac-sha2-256", "up"): 1.0,
}
THROUGHPUT_SHARE = 0.95  # of the fastest Python client against the same server
HANDSHAKE_TARGETS = {"sshd": 25.0, "dropbear": 11.0}
SERVER_SHARE = 0.80  # our server's rate / sshd's, same client
MEMORY_LIMIT_MIB = 64


def _bulk(res: dict[str, Any], section: str, client: str, cipher: str, direction: str) -> dict[str, Any] | None:
    for row in res["bulk"]:
        if (row["section"], row["client"], row["cipher"], row.get("direction")) == (section, client, cipher, direction):
            return row if "mb_s" in row else None
    return None


def _med(row: dict[str, Any] | None, metric: str) -> float | None:
    if row is None or not row.get(metric):
        return None
    return float(row[metric]["median"])


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of the sections this run has (a ``--only sftp`` run has only the SFTP ones)."""
    out = _main_targets(res) if "bulk" in res else []
    if res.get("sftp"):
        out += sftp.targets(res["sftp"])
    return out


def _main_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for (cipher, direction), limit in CPU_TARGETS.items():
        got = _med(_bulk(res, "sshd", "harness", cipher, direction), "client_cpu_ms_per_mb")
        out.append({"target": f"client CPU {cipher} {direction} <= {limit} ms/MB", "value": got,
                    "met": None if got is None else got <= limit, "profile": (cipher, direction)})  # fmt: skip
    for section in ("sshd", "dropbear"):
        ciphers = sorted({r["cipher"] for r in res["bulk"] if r["section"] == section and "mb_s" in r})
        for cipher in ciphers:
            for direction in ("down", "up"):
                ours = _med(_bulk(res, section, "harness", cipher, direction), "mb_s")
                others = [_med(_bulk(res, section, c, cipher, direction), "mb_s") for c in ("paramiko", "asyncssh")]
                best = max((o for o in others if o is not None), default=None)
                if ours is None or best is None:
                    continue
                out.append({"target": f"{section} {cipher} {direction}: MB/s >= {THROUGHPUT_SHARE:.0%} of the "
                                      f"fastest Python client", "value": round(ours / best, 3),
                            "met": ours >= THROUGHPUT_SHARE * best, "profile": (cipher, direction)})  # fmt: skip
    for server, limit in HANDSHAKE_TARGETS.items():
        row = next((r for r in res["handshake"] if r["server"] == server and r.get("client") == "harness"
                    and r["kex"] == "curve25519-sha256" and "ms" in r), None)  # fmt: skip
        got = row["ms"]["median"] if row else None
        out.append({"target": f"handshake vs {server} (curve25519) <= {limit} ms", "value": got,
                    "met": None if got is None else got <= limit})  # fmt: skip
    for row in res["bulk"]:
        if row["section"] != "harness-server" or "mb_s" not in row:
            continue
        ref = _med(_bulk(res, "sshd", row["client"], row["cipher"], row["direction"]), "mb_s")
        got = _med(row, "mb_s")
        if ref and got:
            out.append({"target": f"our server under {row['client']} {row['cipher']} {row['direction']}: "
                                  f">= {SERVER_SHARE:.0%} of sshd's MB/s", "value": round(got / ref, 3),
                        "met": got >= SERVER_SHARE * ref})  # fmt: skip
    mem = res.get("memory")
    if mem:
        out.append({"target": f"peak RSS growth during a {mem['transfer_mib']} MiB download < {MEMORY_LIMIT_MIB} MiB",
                    "value": mem["growth_mib"], "met": mem["growth_mib"] < MEMORY_LIMIT_MIB})  # fmt: skip
    return out


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def table(res: dict[str, Any]) -> str:
    parts = [_main_table(res)] if "bulk" in res else []
    if res.get("sftp"):
        parts.append(sftp.table(res["sftp"]))
    return "\n\n".join(parts)


def _main_table(res: dict[str, Any]) -> str:
    lines = [f"{'server':15} {'cipher':29} {'dir':4} {'client':9} {'MB/s med':>8} {'MB/s max':>8} "
             f"{'cli ms/MB':>9} {'(min)':>6} {'srv ms/MB':>9}"]  # fmt: skip
    for row in res["bulk"]:
        if "mb_s" not in row:
            lines.append(f"{row['server']:15} {row['cipher']:29} {'':4} {row['client']:9} n/a: {row['skipped']}")
            continue
        lines.append(f"{row['server']:15} {row['cipher']:29} {row['direction']:4} {row['client']:9} "
                     f"{_fmt(_med(row, 'mb_s'), '.0f'):>8} {_fmt(row['mb_s']['max'], '.0f'):>8} "
                     f"{_fmt(_med(row, 'client_cpu_ms_per_mb')):>9} {_fmt(row['client_cpu_ms_per_mb']['min']):>6} "
                     f"{_fmt(_med(row, 'server_cpu_ms_per_mb')):>9}")  # fmt: skip
    lines.append("")
    lines.append(f"{'handshake server':22} {'kex':30} {'client':9} {'median ms':>9}")
    for row in res["handshake"]:
        val = f"{row['ms']['median']:9.1f}" if "ms" in row else f"n/a: {row['skipped']}"
        lines.append(f"{row['server']:22} {row['kex']:30} {row.get('client', '*'):9} {val}")
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    out = [f"# Benchmark run {res['date']}", "",
           f"Machine: {m['host']}, {m['cpu']}, {m['cpus']} CPUs, {m['memory']}, Linux {m['kernel']}, "
           f"Python {m['python']}.  ",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".  ",
           f"Load average at start {res['load_start']}, at end {res.get('load_end')} (the machine is shared: "
           "MB/s is noisy, CPU ms/MB much less so; compare within one run).  ",
           (f"{res['size_mib']} MiB per transfer, {res['reps']} repetitions, clients interleaved; "
            if "bulk" in res else "Sections: " + ", ".join(res.get("sections", [])) + "; ")
           + f"run took {res.get('elapsed_s')} s.", ""]  # fmt: skip
    if "bulk" in res:
        out += _main_sections(res)
    if res.get("sftp"):
        out += sftp.markdown(res["sftp"])
    if res.get("sftp_skipped"):
        out += ["## SFTP", "", f"Skipped: {res['sftp_skipped']}.", ""]
    out += _closing_sections(res)
    return "\n".join(out) + "\n"


def _main_sections(res: dict[str, Any]) -> list[str]:
    out: list[str] = []
    out += ["## Bulk: our client against the others (medians; ratio = ours / theirs)", "",
            "| server | cipher | dir | ours MB/s | ours CPU ms/MB | paramiko | AsyncSSH | ssh | "
            "CPU ours/paramiko | CPU ours/AsyncSSH | CPU ours/ssh | MB/s ours/paramiko | MB/s ours/AsyncSSH | "
            "MB/s ours/ssh |", "|" + "---|" * 14]  # fmt: skip
    keys = sorted(
        {(r["section"], r["cipher"], r["direction"]) for r in res["bulk"] if "mb_s" in r},
        key=lambda k: (["sshd", "dropbear", "harness-server"].index(k[0]), k[1], k[2] != "down"),
    )
    for section, cipher, direction in keys:
        rows = {c: _bulk(res, section, c, cipher, direction) for c in ("harness", "paramiko", "asyncssh", "ssh")}
        cpu = {c: _med(r, "client_cpu_ms_per_mb") for c, r in rows.items()}
        rate = {c: _med(r, "mb_s") for c, r in rows.items()}

        def cell(c: str, cpu: dict[str, float | None] = cpu, rate: dict[str, float | None] = rate) -> str:
            return "n/a" if cpu[c] is None else f"{rate[c]:.0f} MB/s, {cpu[c]:.2f}"

        out.append(
            f"| {section} | {cipher} | {direction} | {_fmt(rate['harness'], '.0f')} | {_fmt(cpu['harness'])} | "
            f"{cell('paramiko')} | {cell('asyncssh')} | {cell('ssh')} | "
            f"{_ratio(cpu['harness'], cpu['paramiko'])} | {_ratio(cpu['harness'], cpu['asyncssh'])} | "
            f"{_ratio(cpu['harness'], cpu['ssh'])} | {_ratio(rate['harness'], rate['paramiko'])} | "
            f"{_ratio(rate['harness'], rate['asyncssh'])} | {_ratio(rate['harness'], rate['ssh'])} |"
        )
    out += ["", "Server CPU ms/MB (median) per client: see bench.json (`server_cpu_ms_per_mb`).", ""]
    out += ["## Our server against sshd, same client (median MB/s; server CPU ms/MB)", "",
            "| client | cipher | dir | sshd MB/s | ours MB/s | ours/sshd | sshd CPU ms/MB | our server CPU ms/MB |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in res["bulk"]:
        if row["section"] != "harness-server" or "mb_s" not in row:
            continue
        ref = _bulk(res, "sshd", row["client"], row["cipher"], row["direction"])
        out.append(
            f"| {row['client']} | {row['cipher']} | {row['direction']} | {_fmt(_med(ref, 'mb_s'), '.0f')} | "
            f"{_fmt(_med(row, 'mb_s'), '.0f')} | {_ratio(_med(row, 'mb_s'), _med(ref, 'mb_s'))} | "
            f"{_fmt(_med(ref, 'server_cpu_ms_per_mb'))} | {_fmt(_med(row, 'server_cpu_ms_per_mb'))} |"
        )
    out += ["", "## Handshake to the first command's exit status (median ms)", "",
            "| server | kex | harness | paramiko | AsyncSSH | ssh | ours/paramiko | ours/AsyncSSH | ours/ssh |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    hs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in res["handshake"]:
        hs.setdefault((row["server"], row["kex"]), {})[row.get("client", "*")] = row
    for (server, kex), by_client in hs.items():

        def v(c: str, by_client: dict[str, Any] = by_client) -> float | None:
            r = by_client.get(c)
            return r["ms"]["median"] if r and "ms" in r else None

        cells = []
        for c in ("harness", "paramiko", "asyncssh", "ssh"):
            r = by_client.get(c) or by_client.get("*")
            cells.append(f"{v(c):.1f}" if v(c) is not None else f"n/a ({r['skipped']})" if r else "-")
        out.append(f"| {server} | {kex} | " + " | ".join(cells) +
                   f" | {_ratio(v('harness'), v('paramiko'))} | {_ratio(v('harness'), v('asyncssh'))} | "
                   f"{_ratio(v('harness'), v('ssh'))} |")  # fmt: skip
    if res.get("handshake_phases"):
        out += ["", "Where our login's time goes (curve25519, median ms per phase; client_cpu = our CPU):", ""]
        for server, phases in res["handshake_phases"].items():
            out.append(f"- {server}: " + ", ".join(f"{k} {v}" for k, v in phases.items()))
    if res["channels"]:
        out += [
            "",
            "## Channels opened, used (`echo x`) and closed on one connection",
            "",
            "| client | ms per channel | client CPU ms per channel |",
            "|---|---|---|",
        ]
        for row in res["channels"]:
            if "skipped" in row:
                out.append(f"| {row['client']} | n/a ({row['skipped']}) | |")
            else:
                out.append(f"| {row['client']} | {row['ms_per_channel']} | {row['client_cpu_ms_per_channel']} |")
    out += [
        "",
        "## Ceiling: CPU ms per MB at 32 KiB packets (cryptography alone; our packet layer)",
        "",
        "| cipher | raw seal | raw open | framed seal | framed open |",
        "|---|---|---|---|---|",
    ]
    for row in res.get("ceiling", []):
        out.append(
            f"| {row['cipher']} | {row['raw_seal_ms_per_mb']} | {row['raw_open_ms_per_mb']} | "
            f"{row.get('framed_seal_ms_per_mb', '-')} | {row.get('framed_open_ms_per_mb', '-')} |"
        )
    out += ["", "The peer's own rate is the `ssh` column against sshd (OpenSSH at both ends).", ""]
    return out


def _closing_sections(res: dict[str, Any]) -> list[str]:
    out = ["## Targets", "", "| target | value | met |", "|---|---|---|"]
    for t in res.get("targets", []):
        met = "n/a" if t["met"] is None else "yes" if t["met"] else "**no**"
        out.append(f"| {t['target']} | {t['value']} | {met} |")
    missed = [t for t in res.get("targets", []) if t["met"] is False and t.get("hotspots")]
    if missed:
        out += ["", "## Hotspots where a target is missed (cProfile, all threads of our client, by own time)", ""]
        seen = set()
        for t in missed:
            key = tuple(t["profile"])
            if key in seen:
                continue
            seen.add(key)
            out += [f"{' '.join(key)}:", "", *[f"    {line}" for line in t["hotspots"]], ""]
    if res.get("windows"):
        out += ["", "## Window settings", ""]
        for name, settings in res["windows"].items():
            out.append(f"- {name}: {settings}")
    if res["errors"]:
        out += ["", "## Errors", "", *[f"- {e}" for e in res["errors"]]]
    return out
