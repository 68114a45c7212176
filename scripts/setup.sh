#!/usr/bin/env bash
# Installs everything the tests and the conformance run need on a fresh Debian machine:
# the real SSH peers (OpenSSH, Dropbear) from Debian, and a virtualenv with the package and its
# test dependencies. Idempotent; fails loudly when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
for bin in /usr/bin/sshpass /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen /usr/sbin/dropbear /usr/bin/dbclient /usr/bin/dropbearkey; do
    [ -x "$bin" ] || need_pkgs=(openssh-server openssh-client openssh-sftp-server dropbear-bin sshpass)
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: OpenSSH/Dropbear are missing and installing them needs root (apt-get install ${need_pkgs[*]})" >&2
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
    .venv/bin/pip install -q -e '.[test,fuzz]'
    touch "$stamp"
fi
