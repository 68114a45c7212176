#!/usr/bin/env bash
# Installs everything the tests and the conformance run need on a fresh Debian machine:
# the real SSH peers (OpenSSH, Dropbear) from Debian, and a virtualenv with the package and its
# test dependencies. Idempotent; fails loudly when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
# Real peers and tools: OpenSSH, Dropbear, PuTTY's plink/puttygen, ssh-audit, sshpass.
for bin in /usr/bin/sshpass /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen /usr/sbin/dropbear /usr/bin/dbclient \
           /usr/bin/dropbearkey /usr/bin/plink /usr/bin/puttygen /usr/bin/ssh-audit; do
    [ -x "$bin" ] || need_pkgs=(openssh-server openssh-client openssh-sftp-server dropbear-bin sshpass putty-tools ssh-audit)
done
# Debian's (older) paramiko and AsyncSSH under /usr/bin/python3: the client peers
# paramiko-client-debian and asyncssh-client-debian (harness.peers.client_peers).
if ! /usr/bin/python3 -c 'import paramiko, asyncssh' 2>/dev/null; then
    need_pkgs+=(python3-paramiko python3-asyncssh)
fi
# Report and capture tools the tests use: tshark decrypts our pcapng captures with the key log
# (tests/capture), headless chromium renders the scenario report (tests/scenario/test_report.py).
[ -x /usr/bin/tshark ] || need_pkgs+=(tshark)
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: packages are missing and installing them needs root (apt-get install ${need_pkgs[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    # The Debian package may start an sshd on port 22; the harness runs its own on loopback.
    pkill -x sshd 2>/dev/null || true
fi
mkdir -p /run/sshd

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    # The distribution was called `harness` before it became `ssh-harness`: drop the old record.
    .venv/bin/pip uninstall -y -q harness >/dev/null 2>&1 || true
    .venv/bin/pip install -q -e '.[test,fuzz]'
    touch "$stamp"
fi

# The Docker peer matrix (OpenSSH 8.4/9.2/10.0, Dropbear 2020.81/2022.83/2025.89, tinysshd):
# installs docker.io, starts dockerd, builds the base and peer images offline. Skipped only when
# HARNESS_NO_DOCKER=1 (then the tests that need Docker fail unless HARNESS_REQUIRE_DOCKER=0).
if [ "${HARNESS_NO_DOCKER:-0}" != "1" ]; then
    bash containers/bootstrap.sh
fi
