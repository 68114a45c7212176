"""Per-peer expectations: which scenarios a peer is known to fail, and why.

One TOML file per peer id in ``scenarios/expectations/`` (``openssh-9.2.toml``), plus
``all.toml`` for every peer (harness bugs). Each table is keyed by a scenario id (a variant id
such as ``kex/each_method[curve25519-sha256]``, or a base id for all its variants, or an
``fnmatch`` pattern)::

    ["global_requests/keepalive_want_reply"]
    status = "xfail"                     # xfail | n/a | outcome
    reason = "tinysshd never answers global requests that want a reply"
    match = "expected REQUEST_FAILURE"   # xfail: text that must appear in the failure message
    strict = true                        # xfail: passing is reported as XPASS (default true)

    ["misbehaviour/unassigned_number"]
    status = "outcome"
    outcome = "unimplemented"            # which OneOf branch this peer takes (recorded per peer)
    reason = "answers with UNIMPLEMENTED"

A malformed file raises :class:`ExpectationError` naming the file and the problem.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

STATUSES = ("xfail", "n/a", "outcome")
_KEYS = {"status", "reason", "match", "strict", "outcome"}


class ExpectationError(ValueError):
    """A bad expectation file: the message names the file and the problem."""


@dataclass(frozen=True)
class Expectation:
    key: str
    status: str
    reason: str
    match: str | tuple[str, ...] = ""  # text (or any of several texts) the failure must contain
    strict: bool = True
    outcome: str = ""
    source: str = ""


def parse_expectations(text: str, source: str) -> dict[str, Expectation]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationError(f"{source}: not valid TOML: {exc}") from exc
    out: dict[str, Expectation] = {}
    for key, table in data.items():
        where = f"{source}: [{key!r}]"
        if not isinstance(table, dict):
            raise ExpectationError(f"{where}: must be a table (write it as [\"{key}\"] with status and reason)")
        unknown = set(table) - _KEYS
        if unknown:
            raise ExpectationError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
        status = table.get("status")
        if status not in STATUSES:
            raise ExpectationError(f"{where}: status must be one of {STATUSES}, not {status!r}")
        reason = table.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ExpectationError(f"{where}: every expectation needs a non-empty reason")
        match = table.get("match", "")
        if isinstance(match, list):
            # Several manifestations of one deviation (timing decides which one shows).
            if not match or not all(isinstance(m, str) and m for m in match):
                raise ExpectationError(f"{where}: match must be a string or a list of non-empty strings")
            match = tuple(match)
        elif not isinstance(match, str):
            raise ExpectationError(f"{where}: match must be a string or a list of strings")
        if status == "xfail" and not match:
            raise ExpectationError(f"{where}: an xfail needs match = \"text that must appear in the failure\"")
        strict = table.get("strict", True)
        if not isinstance(strict, bool):
            raise ExpectationError(f"{where}: strict must be true or false")
        outcome = table.get("outcome", "")
        if status == "outcome" and (not isinstance(outcome, str) or not outcome):
            raise ExpectationError(f"{where}: status \"outcome\" needs outcome = \"branch name\"")
        out[key] = Expectation(key, status, reason.strip(), match, strict, outcome, source)
    return out


def load_file(path: Path) -> dict[str, Expectation]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExpectationError(f"{path}: cannot read: {exc}") from exc
    return parse_expectations(text, str(path))


class Expectations:
    """All expectation files of a directory; ``lookup(variant_id, base_id, peer_id)``."""

    def __init__(self, by_peer: dict[str, dict[str, Expectation]]) -> None:
        self.by_peer = by_peer

    @classmethod
    def load(cls, directory: Path) -> Expectations:
        by_peer: dict[str, dict[str, Expectation]] = {}
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                by_peer[path.stem] = load_file(path)
        return cls(by_peer)

    def check_ids(self, known: set[str], base_ids: set[str]) -> None:
        """Every key must name a scenario (or match one, for patterns)."""
        for peer, table in self.by_peer.items():
            for key, exp in table.items():
                if key in known or key in base_ids:
                    continue
                if any(ch in key for ch in "*?[") and (fnmatch.filter(known, key)):
                    continue
                raise ExpectationError(f"{exp.source}: [{key!r}] names no scenario (peer {peer}); "
                                       "scenario ids look like 'area/name' or 'area/name[param]'")  # fmt: skip

    def lookup(self, variant: str, base: str, peer: str) -> Expectation | None:
        for table_name in (peer, "all"):
            table = self.by_peer.get(table_name, {})
            for key in (variant, base):
                if key in table:
                    return table[key]
            for key, exp in table.items():
                if any(ch in key for ch in "*?") and fnmatch.fnmatchcase(variant, key):
                    return exp
        return None
