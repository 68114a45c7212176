"""Issue 19.8: failures on our side are seen, never swallowed or optimised away.

- Queuing the DISCONNECT for a peer's violation catches nothing: nothing there is expected to
  fail, so an exception from it (here a packet observer's) is a bug that must surface.
- harness.soak's checks are real checks: ``python -O`` strips ``assert``, not them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.ssh.errors import RemoteProtocolError
from harness.ssh.wire import messages as m

from .channel_pair import channel_pair

ROOT = Path(__file__).resolve().parents[2]


class ObserverBroke(Exception):
    pass


def test_an_exception_while_queuing_the_disconnect_is_not_swallowed() -> None:
    cp = channel_pair()

    def observe(direction: str, seq: int, payload: bytes) -> None:
        if direction == "out" and payload[:1] == b"\x01":
            raise ObserverBroke("observer failed on the DISCONNECT")

    cp.pair.client.packet_observer = observe
    cp.pair.server.send_unchecked(m.ChannelData(recipient=99, data=b"x"))
    with pytest.raises(ObserverBroke) as info:
        cp.pair.client.receive_data(cp.pair.server.data_to_send())
    assert isinstance(info.value.__context__, RemoteProtocolError)  # the violation is still attached


def test_soak_checks_survive_python_dash_o() -> None:
    code = "from harness.soak import check; check(True, 'fine'); check(1 == 2, 'digest mismatch')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, env=env,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode != 0
    assert "SoakCheckFailed: digest mismatch" in result.stderr
