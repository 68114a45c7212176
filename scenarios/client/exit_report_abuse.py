"""Client role: our server's report of the command's end is wrong: exit-status twice (0, then
1), exit-status after CHANNEL_CLOSE, an exit-signal with a name RFC 4254 6.10 does not define, or
one whose message holds terminal control sequences. RFC 4254 names no reaction: informational
(the client run's exit status and output are in the cell's details)."""

from harness.scenario import *


def _status(n):
    return Request(m.ChannelRequestExitStatus(want_reply=False, status=n), expect=None)


def _signal(name, message):
    return Request(m.ChannelRequestExitSignal(want_reply=False, signal=name, core_dumped=False, message=message,
                                              language=""), expect=None)  # fmt: skip


_ABUSE = {
    "status_twice": [_status(0), _status(1), SendEof(), CloseChannel(wait=False)],
    # After the client's own CLOSE (a client that exits at our CLOSE instead ends the cell there).
    "status_after_close": [SendEof(), CloseChannel(wait=False),
                           OneOf(closed=[ExpectEvent(ev.ChannelClosed),
                                         Send(m.ChannelRequestExitStatus(recipient=Remote("ch"), want_reply=False,
                                                                         status=3))],
                                 client_gone=[ExpectClose()])],
    "signal_unknown_name": [_signal("NOSUCHSIGNAL@harness.invalid", "killed"), SendEof(), CloseChannel(wait=False)],
    "signal_control_chars": [_signal("KILL", "\x1b[2J\x1b]0;harness-owned\x07killed"), SendEof(),
                             CloseChannel(wait=False)],
}

SCENARIO = Scenario(
    role=SERVER,
    informational=True,
    params={"abuse": tuple(_ABUSE)},
    steps=lambda p: [ServeSession(), *_ABUSE[p["abuse"]], Observe(2)],
)
