#!/usr/bin/env bash
# Offline bootstrap of the Docker peer images, for machines where no image registry is reachable.
#
#   containers/bootstrap.sh [--suites "bullseye bookworm trixie"] [--base-only] [--force] [ZOO...]
#
# ZOO (optional): build only the named images of the peer zoo instead of the default peers:
# `zoo` for all of them, a kind (`zoo-python`) or kind:tag (`zoo-python:bookworm-pypi`); see
# ZOO_IMAGES below and docs/PEERS.md. They are opt-in so the default CI time does not grow.
#
# 1. Installs docker.io and debootstrap with apt when they are missing.
# 2. Starts dockerd in the background when no engine answers (there is no systemd here) and waits
#    for `docker info`; its log goes to /var/log/dockerd.log.
# 3. Makes the base images debian:<suite>-slim locally: `debootstrap --variant=minbase` from the
#    Debian mirror this machine's apt already uses, then `tar | docker import`. An existing image
#    (imported earlier, or pulled where a registry exists) is reused.
# 4. Builds the peer images harness-peer/<kind>:<suite> from containers/<kind>/ with
#    `--network host` (so apt inside the build reaches the mirror the same way the host does).
#    Each image carries the label harness.context-hash: a hash of its build context, the suite
#    and the base image id. An image whose label matches is reused; a changed Dockerfile or
#    entrypoint, or a re-made base image, rebuilds it. --force rebuilds everything.
#
# Idempotent: a second run with nothing changed only checks. Each step prints its duration.
# Environment: HARNESS_DEBIAN_MIRROR / HARNESS_DEBIAN_SECURITY_MIRROR override the mirrors read
# from apt; DOCKERD_TIMEOUT (default 60 s) bounds the wait for the engine; DOCKERD_ARGS are
# extra dockerd options.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ALL_SUITES="bullseye bookworm trixie"
# kind:tag of every peer image; the tag is the suite, or suite-variant for a sanitizer build
# (built with --build-arg VARIANT=variant). Keep in sync with harness.peers.docker.PEERS and
# SANITIZER_PEERS, and the client images of harness.peers.clients (a test checks).
PEER_IMAGES=(
    openssh:bullseye openssh:bookworm openssh:trixie
    dropbear:bullseye dropbear:bookworm dropbear:trixie
    tinyssh:bookworm
    dropbear:bookworm-asan
    putty:bookworm-asan
)
# The peer zoo (images of harness.peers.zoo.ZOO_SERVERS and ZOO_CLIENTS; a test keeps the two
# in sync): built only when asked for by name. Context is
# containers/zoo (common/ plus the kind's own directory), Dockerfile containers/zoo/<name>/.
ZOO_IMAGES=(
    zoo-python:bookworm zoo-python:bookworm-pypi
    zoo-go:bookworm zoo-libssh:bookworm zoo-erlang:bookworm zoo-node:bookworm
    zoo-ruby:bookworm zoo-java:bookworm zoo-lsh:bookworm zoo-putty:bookworm
)
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
DOCKERD_LOG=/var/log/dockerd.log

suites=$ALL_SUITES
base_only=0
force=0
zoo_wanted=()
while [ $# -gt 0 ]; do
    case "$1" in
        --suites) suites=$2; shift 2 ;;
        --suites=*) suites=${1#--suites=}; shift ;;
        --base-only) base_only=1; shift ;;
        --force) force=1; shift ;;
        zoo | zoo-*) zoo_wanted+=("$1"); shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bootstrap: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
for suite in $suites; do
    case " $ALL_SUITES " in *" $suite "*) ;; *) echo "bootstrap: unknown suite $suite (known: $ALL_SUITES)" >&2; exit 2 ;; esac
done

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root; run this script as root (or do it by hand: $2)"
}

# ---------------------------------------------------------------------------------------------
# 1. Packages

# apt-get install PACKAGE unless COMMAND exists (debootstrap only when a base image is missing).
ensure_package() {
    local package=$1 command=$2
    command -v "$command" >/dev/null 2>&1 && return 0
    need_root "installing $package" "apt-get install -y $package"
    local t0; t0=$(now)
    log "installing $package with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq "$package" >/dev/null || die "apt-get install $package failed"
    log "installed $package in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
# 2. Engine

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

ensure_engine() {
    # A reachable engine (local or DOCKER_HOST) is enough; docker.io is only needed to run one here.
    command -v docker >/dev/null 2>&1 && engine_answers || ensure_package docker.io dockerd
    if engine_answers; then
        log "docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
        return 0
    fi
    if [ -n "${DOCKER_HOST:-}" ]; then
        die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine (this script only starts a local one)"
    fi
    command -v dockerd >/dev/null 2>&1 || die "no engine answers and there is no dockerd to start (apt-get install docker.io)"
    need_root "starting dockerd" "dockerd >$DOCKERD_LOG 2>&1 &"
    local t0; t0=$(now)
    log "no engine answers: starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid: the daemon must outlive this script and its terminal.
    # shellcheck disable=SC2086  # DOCKERD_ARGS is a word list on purpose
    setsid dockerd ${DOCKERD_ARGS:-} >"$DOCKERD_LOG" 2>&1 </dev/null &
    local pid=$! deadline=$(($(date +%s) + DOCKERD_TIMEOUT))
    until engine_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            die "dockerd exited during start-up; last lines of $DOCKERD_LOG:
$(tail -n 20 "$DOCKERD_LOG")"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            die "dockerd (pid $pid) did not answer within ${DOCKERD_TIMEOUT}s; last lines of $DOCKERD_LOG:
$(tail -n 20 "$DOCKERD_LOG")"
        fi
        sleep 0.5
    done
    log "dockerd (pid $pid) ready in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
# 3. Base images

# Debian archive URIs from apt's own configuration (sources.list and sources.list.d, one-line and
# deb822 formats alike): "main" prints the archive, "security" the security archive.
apt_mirror() {
    local which=$1 rows
    rows=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(LABEL) $(COMPONENT) $(TARGET_OF)' 2>/dev/null \
        | awk '$NF == "deb" && $(NF-1) == "main"' | sort -u) || true
    if [ "$which" = security ]; then
        awk '$2 ~ /-security$/ || $3 == "Debian-Security" { print $1; exit }' <<<"$rows"
    else
        awk '$2 !~ /-(security|updates|backports|proposed-updates)$/ && ($3 == "Debian" || $3 == "") \
             { print $1; exit }' <<<"$rows"
    fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

make_base_image() {
    local suite=$1 image="debian:$1-slim"
    if image_exists "$image"; then
        log "$image exists: reused"
        return 0
    fi
    need_root "debootstrap" "debootstrap --variant=minbase $suite DIR MIRROR"
    ensure_package debootstrap debootstrap
    local mirror=${HARNESS_DEBIAN_MIRROR:-$(apt_mirror main)}
    local security=${HARNESS_DEBIAN_SECURITY_MIRROR:-$(apt_mirror security)}
    [ -n "$mirror" ] || die "no Debian mirror found in apt's sources (/etc/apt/sources.list*); set HARNESS_DEBIAN_MIRROR"
    local t0 dir; t0=$(now)
    dir=$(mktemp -d "/var/tmp/harness-rootfs-$suite.XXXXXX")
    # shellcheck disable=SC2064  # expand $dir now
    trap "umount -R '$dir/proc' '$dir/sys' 2>/dev/null || true; rm -rf '$dir'" EXIT
    log "debootstrap $suite from $mirror into $dir"
    if ! debootstrap --variant=minbase --components=main "$suite" "$dir" "$mirror" >"$dir.log" 2>&1; then
        die "debootstrap $suite failed; last lines of $dir.log:
$(tail -n 20 "$dir.log")"
    fi
    rm -f "$dir.log"
    # Sources as in the official image: the release, its updates and its security archive.
    {
        echo "deb $mirror $suite main"
        echo "deb $mirror $suite-updates main"
        [ -z "$security" ] || echo "deb $security $suite-security main"
    } >"$dir/etc/apt/sources.list"
    # Slim like debian:*-slim: no docs, man pages or translations from later installs; no apt caches.
    mkdir -p "$dir/etc/dpkg/dpkg.cfg.d" "$dir/etc/apt/apt.conf.d"
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    echo 'Acquire::Languages "none"; APT::Install-Recommends "false";' >"$dir/etc/apt/apt.conf.d/docker-slim"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/tmp/* "$dir"/var/tmp/*
    rm -f "$dir/etc/resolv.conf" "$dir/etc/hostname"   # the engine provides both at run time
    local t1; t1=$(now)
    tar --numeric-owner -C "$dir" -c . \
        | docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
            --message "debootstrap --variant=minbase $suite $mirror" - "$image" >/dev/null \
        || die "docker import of $image failed"
    rm -rf "$dir"
    trap - EXIT
    log "$image made in $(elapsed "$t0") (import $(elapsed "$t1"))"
}

# ---------------------------------------------------------------------------------------------
# 4. Peer images

context_hash() {
    local kind=$1 suite=$2 variant=$3 base_id
    base_id=$(docker image inspect --format '{{.Id}}' "debian:$suite-slim")
    {
        echo "suite=$suite base=$base_id${variant:+ variant=$variant}"
        (cd "$HERE/$kind" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
        # The executable bit of the entrypoint matters to the image too.
        (cd "$HERE/$kind" && find . -type f -perm -u+x -print | sort)
    } | sha256sum | cut -c1-32
}

build_peer_image() {
    local kind=$1 tag=$2 image="harness-peer/$1:$2" hash current suite variant=""
    suite=${tag%%-*}
    [ "$suite" = "$tag" ] || variant=${tag#*-}
    hash=$(context_hash "$kind" "$suite" "$variant")
    current=$(docker image inspect --format '{{ index .Config.Labels "harness.context-hash" }}' "$image" 2>/dev/null || true)
    if [ "$force" -eq 0 ] && [ "$current" = "$hash" ]; then
        log "$image is up to date: reused"
        return 0
    fi
    local t0 out; t0=$(now)
    log "building $image${current:+ (context changed)}"
    out=$(mktemp)
    if ! docker build --network host --build-arg "SUITE=$suite" ${variant:+--build-arg "VARIANT=$variant"} \
        --label "harness.context-hash=$hash" --label "harness.peer.kind=$kind" --label "harness.peer.suite=$suite" \
        -t "$image" "$HERE/$kind" >"$out" 2>&1; then
        tail -n 30 "$out" >&2
        rm -f "$out"
        die "building $image failed (output above)"
    fi
    rm -f "$out"
    log "$image built in $(elapsed "$t0")"
}

# The host's CA bundle: pip and npm inside a zoo build trust what the host trusts (a machine
# behind a TLS-intercepting proxy has its CA there; elsewhere it is the ordinary bundle).
HOST_CA_BUNDLE=${HARNESS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

zoo_selected() {
    local entry=$1 want
    for want in "${zoo_wanted[@]}"; do
        case "$want" in zoo | "$entry" | "${entry%%:*}") return 0 ;; esac
    done
    return 1
}

build_zoo_image() {
    local name=${1#zoo-} tag=$2 image="harness-peer/$1:$2" hash current suite variant="" context
    suite=${tag%%-*}
    [ "$suite" = "$tag" ] || variant=${tag#*-}
    hash=$({ context_hash "zoo/common" "$suite" "$variant"; context_hash "zoo/$name" "$suite" "$variant"; } | sha256sum | cut -c1-32)
    current=$(docker image inspect --format '{{ index .Config.Labels "harness.context-hash" }}' "$image" 2>/dev/null || true)
    if [ "$force" -eq 0 ] && [ "$current" = "$hash" ]; then
        log "$image is up to date: reused"
        return 0
    fi
    local t0 out; t0=$(now)
    log "building $image${current:+ (context changed)}"
    context=$(mktemp -d /var/tmp/harness-zoo-context.XXXXXX)
    cp -r "$HERE/zoo/common" "$HERE/zoo/$name" "$context/"
    if [ -f "$HOST_CA_BUNDLE" ]; then cp "$HOST_CA_BUNDLE" "$context/host-ca.pem"; else : >"$context/host-ca.pem"; fi
    out=$(mktemp)
    if ! docker build --network host --build-arg "SUITE=$suite" ${variant:+--build-arg "VARIANT=$variant"} \
        --label "harness.context-hash=$hash" --label "harness.peer.kind=$1" --label "harness.peer.suite=$suite" \
        -f "$context/$name/Dockerfile" -t "$image" "$context" >"$out" 2>&1; then
        tail -n 30 "$out" >&2
        rm -rf "$out" "$context"
        die "building $image failed (output above)"
    fi
    rm -rf "$out" "$context"
    log "$image built in $(elapsed "$t0")"
}

main() {
    local t0 tag entry; t0=$(now)
    ensure_engine
    [ "${#zoo_wanted[@]}" -eq 0 ] || suites=bookworm
    for suite in $suites; do
        make_base_image "$suite"
    done
    if [ "${#zoo_wanted[@]}" -gt 0 ]; then
        local matched=0
        for entry in "${ZOO_IMAGES[@]}"; do
            if zoo_selected "$entry"; then
                matched=1
                build_zoo_image "${entry%%:*}" "${entry#*:}"
            fi
        done
        [ "$matched" -eq 1 ] || die "no zoo image matches ${zoo_wanted[*]} (known: ${ZOO_IMAGES[*]})"
    elif [ "$base_only" -eq 0 ]; then
        for entry in "${PEER_IMAGES[@]}"; do
            tag=${entry#*:}
            case " $suites " in *" ${tag%%-*} "*) build_peer_image "${entry%%:*}" "$tag" ;; esac
        done
    fi
    log "done in $(elapsed "$t0")"
}

main
