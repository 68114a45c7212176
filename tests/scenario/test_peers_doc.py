"""docs/PEERS.md's per-peer conformance section is generated from the manifests and pins:
it must be current (run `harness peers doc --write` after changing either)."""

from __future__ import annotations

from pathlib import Path

from harness.scenario import peers_doc

ROOT = Path(__file__).resolve().parents[2]


def test_peers_doc_section_is_current() -> None:
    doc = (ROOT / "docs" / "PEERS.md").read_text()
    assert peers_doc.BEGIN in doc, "docs/PEERS.md has no generated section: run `harness peers doc --write`"
    assert peers_doc.render(doc, peers_doc.section(ROOT / "scenarios")) == doc, (
        "docs/PEERS.md is stale: run `python -m harness peers doc --write`")


def test_section_names_each_deviation_with_its_scenario_and_reason() -> None:
    text = peers_doc.section(ROOT / "scenarios")
    assert "### tinyssh" in text and "### openssh-9.2" in text
    assert "[`global_requests/keepalive_want_reply`](../scenarios/global_requests/keepalive_want_reply.py)" in text
    assert "UNIMPLEMENTED instead of REQUEST_FAILURE" in text


def test_render_replaces_only_the_generated_section() -> None:
    doc = "# Peers\n\nhand text\n\n" + peers_doc.BEGIN + "\nold\n" + peers_doc.END + "\n\n## Tests\n"
    new = peers_doc.render(doc, peers_doc.BEGIN + "\nnew\n" + peers_doc.END + "\n")
    assert new == "# Peers\n\nhand text\n\n" + peers_doc.BEGIN + "\nnew\n" + peers_doc.END + "\n\n## Tests\n"
