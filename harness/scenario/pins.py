"""Pinned outcomes: the reviewed golden record of what each peer did in each cell.

One TOML file per peer id in ``<expectations>/pins/<peer>.toml``, a flat table of scenario
variant id -> outcome (or a list of outcomes where timing decides between them)::

    "kex/guess_wrong" = "continued"
    "misbehaviour/unassigned_number[200]" = 'DISCONNECT PROTOCOL_ERROR(2) "..."'
    "misbehaviour/corrupted_mac" = ["reset", "closed without DISCONNECT"]

A run compares every cell's observed outcome with its pin; a difference fails the cell with
"was X, now Y". ``--update-outcomes`` rewrites the pins of the cells that ran and prints the
changes; ``--add-outcomes`` adds the new outcome as an alternative instead (for reactions that
depend on timing, recorded only after seeing both).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.scenario.expectations import ExpectationError
from harness.scenario.outcome import matches_pin

PinValue = str | list[str]


@dataclass
class PinFile:
    """The pins of one peer."""

    peer: str
    path: Path
    pins: dict[str, PinValue] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path, peer: str) -> PinFile:
        path = directory / f"{peer}.toml"
        pins: dict[str, PinValue] = {}
        if path.exists():
            try:
                data = tomllib.loads(path.read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ExpectationError(f"{path}: cannot read pins: {exc}") from exc
            for key, value in data.items():
                if isinstance(value, str) and value:
                    pins[key] = value
                elif isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
                    pins[key] = list(value)
                else:
                    raise ExpectationError(f"{path}: [{key!r}]: a pin is an outcome string or a list of them")
        return cls(peer, path, pins)

    def get(self, variant: str) -> PinValue | None:
        return self.pins.get(variant)

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"# Observed outcomes of {self.peer}, pinned per scenario (docs/SCENARIOS.md, \"Outcomes\").",
                 "# Reviewed golden data: `harness run --update-outcomes` rewrites it and prints what changed.", ""]
        for key in sorted(self.pins):
            lines.append(f"{_toml_string(key)} = {_toml_value(self.pins[key])}")
        self.path.write_text("\n".join(lines) + "\n")


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string with ASCII escapes is a TOML basic string


def _toml_value(value: PinValue) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_string(v) for v in value) + "]"
    return _toml_string(value)


def describe(value: PinValue | None) -> str:
    if value is None:
        return "(not pinned)"
    return " | ".join(value) if isinstance(value, list) else value


class Pins:
    """The pins of every peer under one directory, loaded on demand."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, PinFile] = {}

    def file(self, peer: str) -> PinFile:
        if peer not in self._files:
            self._files[peer] = PinFile.load(self.directory, peer)
        return self._files[peer]

    def get(self, peer: str, variant: str) -> PinValue | None:
        return self.file(peer).get(variant)


def _pin_peer(row: dict[str, Any]) -> str:
    """The pin file a result belongs to: the peer id it was run as (``dbclient`` for the local
    binary), which can differ from the release the peer reported (``dbclient-2022.83``)."""
    return str((row.get("extra") or {}).get("pin_peer") or row["peer"])


def update(directory: Path, results: list[dict[str, Any]], add: bool = False) -> list[str]:
    """Rewrite (or, with ``add``, extend) the pins from a run's results; returns the changes.

    Cells without an outcome (n/a, harness errors) keep their pins: an ERROR says nothing
    about the peer."""
    pins = Pins(directory)
    changes: list[str] = []
    touched: set[str] = set()
    for row in sorted(results, key=lambda r: (_pin_peer(r), r["scenario"])):
        outcome = row.get("outcome") or ""
        if not outcome or row.get("status") in ("n/a", "error") or row.get("position"):
            continue
        peer = _pin_peer(row)
        pin_file = pins.file(peer)
        variant = row["scenario"]
        old = pin_file.get(variant)
        if old is not None and matches_pin(outcome, old):
            continue
        if add and old is not None:
            new: PinValue = [*(old if isinstance(old, list) else [old]), outcome]
        else:
            new = outcome
        pin_file.pins[variant] = new
        touched.add(peer)
        changes.append(f"{peer}  {variant}: was {describe(old)}, now {describe(new)}")
    for peer in sorted(touched):
        pins.file(peer).write()
    return changes
