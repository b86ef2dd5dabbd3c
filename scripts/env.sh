#!/usr/bin/env bash
# Local environment for Build Gateway: install packages, start/stop a user-namespaced build host, a plain (non-userns)
# daemon for the refusal test, a registry, and build the approved base images offline.
#
#   scripts/env.sh up   <name> [--plain-host]   start (idempotent) and write <state>/env.sh with the addresses
#   scripts/env.sh down <name>                  stop what `up` started, by pid
#
# <name> is "run" (make run) or "test" (make test); each has its own folders, socket, registry port.
# Daemons log to files under the state folder, never to this terminal.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CMD=${1:?usage: env.sh up|down <name>}
NAME=${2:?usage: env.sh up|down <name>}
shift 2 || true
PLAIN=false
for a in "$@"; do [ "$a" = --plain-host ] && PLAIN=true; done

STATE=$ROOT/.state/$NAME
# Unix socket paths are limited to ~100 bytes: sockets and exec roots go to a short folder named by a hash of ROOT.
SHORT=/run/bgw-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)-$NAME
case $NAME in
  run) REGISTRY_PORT=${BGW_REGISTRY_PORT:-5000} ;;
  test) REGISTRY_PORT=${BGW_REGISTRY_PORT:-5001} ;;
  *) REGISTRY_PORT=${BGW_REGISTRY_PORT:-5002} ;;
esac
REGISTRY=127.0.0.1:$REGISTRY_PORT
CACHE=${BGW_CACHE:-/var/cache/build-gateway}

log() { printf '[env %s] %s\n' "$NAME" "$*" >&2; }

install_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker-registry >/dev/null || need+=(docker-registry)
  [ -x /bin/busybox ] && /bin/busybox --help 2>&1 | grep -q 'static' || dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v oscap >/dev/null || need+=(openscap-scanner)
  command -v newuidmap >/dev/null || need+=(uidmap)
  command -v curl >/dev/null || need+=(curl)
  command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || need+=(maven)
  command -v jq >/dev/null || need+=(jq)
  command -v bc >/dev/null || need+=(bc)
  # A software PKCS#11 token and its tools, for the test of the signing key on a token (Pkcs11KeyIT).
  command -v softhsm2-util >/dev/null || need+=(softhsm2)
  command -v pkcs11-tool >/dev/null || need+=(opensc)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq >/dev/null
    # apt's own service start is refused by policy on these machines; the daemons are started below.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if ! command -v docker >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-cli >/dev/null 2>&1 || true
  fi
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for_socket() {
  local sock=$1 i
  for i in $(seq 1 120); do
    if curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

# start_dockerd <label> <userns:true|false>
start_dockerd() {
  local label=$1 userns=$2
  local dir=$STATE/$label short=$SHORT-$label
  mkdir -p "$dir/data" "$short"
  local sock=$short/docker.sock pid=$dir/docker.pid
  if alive "$pid" && curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
    log "dockerd $label already running"; echo "$sock"; return
  fi
  rm -f "$sock"
  local extra=()
  [ "$userns" = true ] && extra+=(--userns-remap default)
  log "starting dockerd $label (userns=$userns)"
  setsid dockerd --host "unix://$sock" --data-root "$dir/data" --exec-root "$short/exec" --pidfile "$pid" \
      "${extra[@]}" --iptables=false --ip-masq=false --bridge=none \
      --insecure-registry "$REGISTRY" >"$dir/dockerd.log" 2>&1 </dev/null &
  if ! wait_for_socket "$sock"; then
    log "dockerd $label did not come up; see $dir/dockerd.log"; tail -20 "$dir/dockerd.log" >&2; exit 1
  fi
  echo "$sock"
}

start_registry() {
  local dir=$STATE/registry
  mkdir -p "$dir/data"
  if alive "$dir/registry.pid" && curl -sf "http://$REGISTRY/v2/" >/dev/null; then
    log "registry already running on $REGISTRY"; return
  fi
  cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
YML
  log "starting registry on $REGISTRY"
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/registry.pid"
  local i
  for i in $(seq 1 80); do
    if curl -sf "http://$REGISTRY/v2/" >/dev/null; then
      sleep 0.5
      # Something answering is not enough: it must be the registry just started (not another one on that port).
      if alive "$dir/registry.pid"; then return; fi
      log "port $REGISTRY_PORT is taken by another process; set BGW_REGISTRY_PORT or stop it"; exit 1
    fi
    sleep 0.25
  done
  log "registry did not come up; see $dir/registry.log"; exit 1
}

registry_has() { curl -sf -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REGISTRY/v2/$1/manifests/$2"; }

# The Debian mirror apt already uses (the first non-security Debian source), for debootstrap.
debian_mirror() {
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -oE 'https?://[^ ]+' | grep -E '/debian/?$' | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

build_bases() {
  local sock=$1
  export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0
  # Recipe 2 gives the base the account databases and os-release a real base has (the gateway's verification
  # resolves users through /etc/passwd, and the compliance content requires these files). The recipe tag makes an
  # older registry rebuild it.
  if ! registry_has base/busybox recipe-2; then
    log "building base/busybox"
    local ctx; ctx=$(mktemp -d)
    cp /bin/busybox "$ctx/busybox"
    mkdir -p "$ctx/etc"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ctx/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/etc/group"
    printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' >"$ctx/etc/shadow"
    printf 'ID=busybox\nNAME="BusyBox base"\nVERSION_ID=%s\nPRETTY_NAME="BusyBox base (gateway test base)"\n' \
      "$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null | cut -d: -f2 | cut -d- -f1)" >"$ctx/etc/os-release"
    chmod 0640 "$ctx/etc/shadow"
    printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY etc /etc\nRUN ["/bin/busybox","--install","-s","/bin"]\n' >"$ctx/Dockerfile"
    docker build -q --network none -t "$REGISTRY/base/busybox:latest" "$ctx" >/dev/null
    docker tag "$REGISTRY/base/busybox:latest" "$REGISTRY/base/busybox:recipe-2"
    docker push -q "$REGISTRY/base/busybox:latest" >/dev/null
    docker push -q "$REGISTRY/base/busybox:recipe-2" >/dev/null
    rm -rf "$ctx"
  fi
  if ! registry_has base/debian 12; then
    mkdir -p "$CACHE"
    local tarball=$CACHE/debian-12-minbase.tar
    if [ ! -s "$tarball" ]; then
      log "debootstrap bookworm minbase (about 25 s)"
      local mirror rootfs
      mirror=$(debian_mirror)
      rootfs=$(mktemp -d)
      debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1
      tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
      rm -rf "$rootfs"
    fi
    log "importing base/debian:12"
    docker import "$tarball" "$REGISTRY/base/debian:12" >/dev/null
    docker push -q "$REGISTRY/base/debian:12" >/dev/null
  fi
}

up() {
  install_packages
  mkdir -p "$STATE"
  start_registry
  local sock plain=""
  sock=$(start_dockerd host1 true)
  build_bases "$sock"
  if [ "$PLAIN" = true ]; then plain=$(start_dockerd plain false); fi
  cat >"$STATE/env.sh" <<ENV
export BGW_STATE=$STATE
export BGW_REGISTRY=$REGISTRY
export BGW_DOCKER_HOST=unix://$sock
export BGW_PLAIN_DOCKER_HOST=${plain:+unix://$plain}
ENV
  log "environment ready: registry $REGISTRY, build host unix://$sock${plain:+, plain daemon unix://$plain}"
}

stop_pid() {
  local pidfile=$1 what=$2 i
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    log "stopping $what (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

down() {
  [ -d "$STATE" ] || return 0
  stop_pid "$STATE/gateway.pid" gateway
  for d in "$STATE"/host1 "$STATE"/plain; do [ -d "$d" ] && stop_pid "$d/docker.pid" "dockerd $(basename "$d")"; done
  stop_pid "$STATE/registry/registry.pid" registry
  return 0
}

case $CMD in
  up) up ;;
  down) down ;;
  *) echo "usage: env.sh up|down <name> [--plain-host]" >&2; exit 2 ;;
esac
