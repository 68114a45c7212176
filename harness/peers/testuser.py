"""The dedicated unprivileged login user that real SSH servers authenticate in tests.

Why a dedicated user: tests must never log in as root nor touch root's files (root's shell
start-up files also add ~70 ms per command, see docs). A fixed name and password let every
launcher (process or Docker) and every scenario agree on the credentials without plumbing.
The shell is ``/bin/sh`` (dash) because it reads no rc file for ``sh -c``, so nothing the
machine's owner put in a profile can write to the channel or slow commands down.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
import threading
from pathlib import Path

from harness.peers.base import PeerError

TEST_USER = "sshharness"
# A fixed, obviously-test password: it only ever protects a throw-away account reachable on
# 127.0.0.1, and scenarios need to know it to exercise password/keyboard-interactive auth.
TEST_PASSWORD = "harness-Test-pw-4711"
TEST_SHELL = "/bin/sh"
TEST_HOME = Path("/home") / TEST_USER

# Serialises useradd/chpasswd between pytest-xdist workers: two concurrent chpasswd runs can fail
# to lock /etc/shadow. The lock file lives in /run/lock (tmpfs, root-writable) when available.
_LOCK_PATH = Path("/run/lock/harness-testuser.lock") if Path("/run/lock").is_dir() else Path(
    "/tmp/harness-testuser.lock"
)
# Each account command is quick; a bound keeps a wedged /etc/shadow lock from hanging a test run.
_COMMAND_TIMEOUT = 30.0

_done_lock = threading.Lock()
_done = False


class TestUserError(PeerError):
    """The test user is missing or cannot be set up; the message says what to do."""

    __test__ = False  # not a pytest test class despite the name


def _run(argv: list[str], stdin: str | None = None) -> None:
    result = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=_COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise TestUserError(f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stderr.strip()}")


def _lookup() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        return None


def ensure_test_user() -> pwd.struct_passwd:
    """Create/repair the test user (idempotent) and return its passwd entry.

    As root: create ``sshharness`` with a home under /home and ``/bin/sh`` if missing, fix the
    shell if it differs, and (re)set the password with ``chpasswd`` once per process so the
    known ``TEST_PASSWORD`` is guaranteed even if someone changed it. Not root: the user must
    already exist (its password cannot be checked then), otherwise :class:`TestUserError`.
    """
    global _done
    with _done_lock:
        entry = _lookup()
        if _done and entry is not None:
            return entry
        if os.geteuid() != 0:
            if entry is None:
                raise TestUserError(
                    f"test user {TEST_USER!r} does not exist and this process is not root; run as "
                    f"root once, or create it: useradd -m -d {TEST_HOME} -s {TEST_SHELL} {TEST_USER} "
                    f"&& echo '{TEST_USER}:{TEST_PASSWORD}' | chpasswd"
                )
            _done = True
            return entry
        _LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        with open(_LOCK_PATH, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entry = _lookup()
            if entry is None:
                _run(["useradd", "--create-home", "--home-dir", str(TEST_HOME), "--shell", TEST_SHELL,
                      "--user-group", TEST_USER])
            elif entry.pw_shell != TEST_SHELL:
                _run(["usermod", "--shell", TEST_SHELL, TEST_USER])
            _run(["chpasswd"], stdin=f"{TEST_USER}:{TEST_PASSWORD}\n")
            # An expired account makes sshd/dropbear refuse even the right password.
            _run(["usermod", "--expiredate", "", TEST_USER])
        entry = _lookup()
        if entry is None:
            raise TestUserError(f"useradd reported success but {TEST_USER!r} is not in the passwd database")
        _done = True
        return entry
