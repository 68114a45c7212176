#!/bin/sh
# Entrypoint shared by the zoo images (harness-peer/zoo-*): prepares host keys and the test
# user's home, then runs the server program as the test user, so that commands it executes
# run as that user (with a clean environment, in the home directory) as sshd would run them.
#
#   harness-entrypoint serve PROGRAM [ARGS...]   serve (the launcher's use)
#   harness-entrypoint serve-as-root PROGRAM ... the same, but PROGRAM stays root (a server
#                                                that changes to the user itself, like lshd)
#   harness-entrypoint COMMAND [ARGS...]         run anything else (clients, checks)
#
# Inputs of "serve" (see harness/peers/zoo.py):
#   HARNESS_LISTEN, HARNESS_PORT   where to listen (default 127.0.0.1:2222)
#   /harness/hostkeys/*_key        private host keys made by the launcher (copied to
#                                  /run/harness-keys, readable by the test user only)
#   /home/sshharness               the per-run home (bind mount) with .ssh/authorized_keys
# The program gets HARNESS_LISTEN, HARNESS_PORT, HARNESS_HOST_KEYS (space-separated paths),
# HARNESS_AUTHORIZED_KEYS, HARNESS_USER and HARNESS_PASSWORD in its environment.
set -eu

TEST_USER=sshharness
TEST_PASSWORD=harness-Test-pw-4711
HOME_DIR=/home/$TEST_USER
KEY_DIR=/run/harness-keys

case "${1:-}" in
    serve) as_user="setpriv --reuid=$TEST_USER --regid=$TEST_USER --init-groups" ;;
    serve-as-root) as_user="" ;;
    *) exec "$@" ;;
esac
shift
mkdir -p "$KEY_DIR" "$HOME_DIR/.ssh"
keys=""
for key in /harness/hostkeys/*_key; do
    [ -f "$key" ] || continue
    cp "$key" "$KEY_DIR/"
    keys="$keys $KEY_DIR/$(basename "$key")"
    [ ! -f "$key.pub" ] || cp "$key.pub" "$KEY_DIR/"
done
[ -n "$keys" ] || { echo "zoo entrypoint: no host keys in /harness/hostkeys" >&2; exit 1; }
chown -R "$TEST_USER:$TEST_USER" "$KEY_DIR" "$HOME_DIR"
chmod 0700 "$KEY_DIR" "$HOME_DIR/.ssh"
chmod 0755 "$HOME_DIR"
cd "$HOME_DIR"
# shellcheck disable=SC2086  # as_user is a word list (or nothing)
exec $as_user env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$HOME_DIR" USER="$TEST_USER" LOGNAME="$TEST_USER" \
    SHELL=/bin/sh LANG=C.UTF-8 \
    HARNESS_LISTEN="${HARNESS_LISTEN:-127.0.0.1}" HARNESS_PORT="${HARNESS_PORT:-2222}" \
    HARNESS_HOST_KEYS="${keys# }" HARNESS_AUTHORIZED_KEYS="$HOME_DIR/.ssh/authorized_keys" \
    HARNESS_USER="$TEST_USER" HARNESS_PASSWORD="$TEST_PASSWORD" "$@"
