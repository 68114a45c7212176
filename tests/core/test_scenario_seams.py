"""The core seams the server-role scenarios and their reference clients use: held messages (the
scenario answers them by hand), a server without RFC 8308, a client that answers no global
request (UNIMPLEMENTED)."""

from __future__ import annotations

from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.wire import messages as m

from .pair import PASSWORD, USER, Pair


def _server(**kw: object) -> ConnectionConfig:
    cfg = ConnectionConfig(emit_messages=True)
    for key, value in kw.items():
        setattr(cfg, key, value)
    return cfg


def test_held_messages_are_reported_not_answered() -> None:
    p = Pair(server_config=_server(held_messages=frozenset({5})))
    p.start()
    requests = [e for e in p.server_events if isinstance(e, ev.MessageReceived)
                and isinstance(e.message, m.ServiceRequest)]  # fmt: skip
    assert requests, p.server_events
    assert not p.client.auth.service_accepted  # the core did not send SERVICE_ACCEPT
    p.server.send_message(m.ServiceAccept(service="ssh-userauth"))  # the scenario answers by hand
    p.server.auth.service_accepted = True
    p.pump()
    assert p.client.auth.service_accepted
    p.client.auth.password(USER, PASSWORD)
    p.pump()
    assert any(isinstance(e, ev.AuthSuccess) for e in p.client_events)


def test_server_without_ext_info_sends_none() -> None:
    p = Pair(server_config=_server(ext_info=False))
    p.start()
    assert not any(isinstance(e, ev.ExtInfoReceived) for e in p.client_events)
    assert any(isinstance(e, ev.KexComplete) for e in p.client_events)


def test_client_that_answers_no_global_requests() -> None:
    p = Pair(ConnectionConfig(answer_global_requests=False))
    p.start()
    p.client.auth.password(USER, PASSWORD)
    p.pump()
    p.server.global_request("keepalive@openssh.com", True)
    p.pump()
    assert any(isinstance(e, ev.UnimplementedReceived) for e in p.server_events)
    assert not any(isinstance(e, ev.GlobalReply) for e in p.server_events)
