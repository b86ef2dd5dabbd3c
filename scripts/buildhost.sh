#!/usr/bin/env bash
# One ephemeral build host (issue #16): a fresh dockerd 26 with user-namespace remapping, its own data root, exec
# root and socket, in a loopback-only network namespace of its own whose one way out is a forwarder to the
# token-authenticated registry — the recipe scripts/env.sh uses for host1, for one build. The gateway
# (hostpool.LocalEphemeralHosts) calls it; so can an operator.
#
#   scripts/buildhost.sh start <id>   start the host; prints its Docker endpoint (unix://…/docker.sock) on stdout
#   scripts/buildhost.sh stop <id>    stop it and remove everything it had: daemon, forwarder, every process left
#                                     in its namespace, the namespace, mounts, data root, exec root, socket
#   scripts/buildhost.sh check <id>   exit 0 when nothing of <id> is left (no folder, namespace, process, mount)
#   scripts/buildhost.sh list         the ids that have a folder (hosts a crashed gateway may have left)
#
# Environment:
#   BGW_REGISTRY          host:port of the registry, as image references name it (the forwarder listens on it)
#   BGW_TOKEN_SOCKET      the token registry's unix socket (scripts/env.sh starts it)
#   BGW_BUILDHOST_ROOT    where data roots go (default /var/lib/build-gateway/ephemeral); overlayfs-capable
#   BGW_BUILDHOST_RUN     where sockets and exec roots go (default /run/bgw-eph): unix socket paths must stay short
#   DOCKERD               the daemon binary (default dockerd)
#   BGW_BUILDHOST_EGRESS  optional, controlled egress (issue #14, docs/egress.md): host:port of the gateway's egress
#                         proxy as this machine reaches it. The daemon then gets a bridge (dockerd --bip
#                         BGW_BUILDHOST_EGRESS_BRIDGE, default 10.213.0.1/24) inside the namespace, whose only
#                         neighbour is a forwarder on <bridge address>:BGW_BUILDHOST_EGRESS_PORT (default 3128) leading,
#                         through a unix socket and a relay on the host, to that proxy — as scripts/env.sh sets up its
#                         host (scripts/lib/egress-bridge.sh). In the namespace: the bridge's ports isolated from each
#                         other (ebtables-nft FORWARD drop), iptables FORWARD policy DROP, and from the bridge only TCP
#                         to the forwarder is accepted (INPUT). If any of it cannot be set up the start fails (closed).
#                         Unset: --bridge=none, every step has network none.
# Daemons log to <root>/<id>/dockerd.log, which goes with the host.
set -euo pipefail

CMD=${1:?usage: buildhost.sh start|stop|check <id> | list}
ROOT=${BGW_BUILDHOST_ROOT:-/var/lib/build-gateway/ephemeral}
RUN=${BGW_BUILDHOST_RUN:-/run/bgw-eph}

log() { printf '[buildhost %s] %s\n' "${ID:-}" "$*" >&2; }
# shellcheck source=scripts/lib/egress-bridge.sh disable=SC1091
. "$(dirname "$0")/lib/egress-bridge.sh"

if [ "$CMD" = list ]; then
  [ -d "$ROOT" ] || exit 0
  find "$ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
  exit 0
fi

ID=${2:?usage: buildhost.sh start|stop|check <id>}
# The id names folders, a network namespace and appears in mount paths: nothing but a short, plain name.
[[ "$ID" =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] || { log "invalid id (a-z, 0-9, -; at most 32)"; exit 2; }
DIR=$ROOT/$ID
SHORT=$RUN/$ID
NETNS=bgw-eph-$ID
SOCK=$SHORT/docker.sock

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_group <pidfile>: TERM to the process (each was started with setsid: it leads its own group), up to 20 s for
# it to end (dockerd stops its containerd and containers first), then KILL to whatever is left of its group.
stop_group() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

netns_exists() { [ -e "/run/netns/$NETNS" ]; }

# Mount points under the host's folders (overlay layers, the netns bind of exec roots), deepest first.
mounts_of() {
  awk -v a="$DIR/" -v b="$SHORT/" '{ if (index($2 "/", a) == 1 || index($2 "/", b) == 1) print $2 }' /proc/self/mounts \
    | sort -r
}

start() {
  : "${BGW_REGISTRY:?BGW_REGISTRY (host:port of the registry) is not set}"
  : "${BGW_TOKEN_SOCKET:?BGW_TOKEN_SOCKET (the token registry socket) is not set}"
  [ -S "$BGW_TOKEN_SOCKET" ] || { log "no token registry at $BGW_TOKEN_SOCKET"; exit 1; }
  if [ -e "$DIR" ] || [ -e "$SHORT" ] || netns_exists; then
    log "$ID exists already: an ephemeral host is never reused"; exit 1
  fi
  local port=${BGW_REGISTRY##*:}
  local egress=${BGW_BUILDHOST_EGRESS:-} bridge=(--bridge=none)
  local egress_bridge=${BGW_BUILDHOST_EGRESS_BRIDGE:-10.213.0.1/24} egress_port=${BGW_BUILDHOST_EGRESS_PORT:-3128}
  if [ -n "$egress" ]; then
    [[ "$egress" =~ ^[A-Za-z0-9._-]+:[0-9]{1,5}$ ]] || { log "BGW_BUILDHOST_EGRESS=$egress is not host:port"; exit 2; }
    [[ "$egress_bridge" =~ ^(10|172|192)\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/24$ ]] \
      || { log "BGW_BUILDHOST_EGRESS_BRIDGE=$egress_bridge is not a private address/24"; exit 2; }
    if ! [[ "$egress_port" =~ ^[0-9]{1,5}$ ]] || [ "$egress_port" -lt 1 ] || [ "$egress_port" -gt 65535 ] \
        || [ "$egress_port" = "$port" ]; then
      log "BGW_BUILDHOST_EGRESS_PORT=$egress_port is not a port other than the registry's"; exit 2
    fi
    bridge=(--bip "$egress_bridge")
  fi
  mkdir -p "$DIR/data" "$SHORT"
  # o+x: the remapped root (an unprivileged uid) must traverse to its data root; nothing is listable.
  chmod 0711 "$DIR" "$SHORT"
  ip netns add "$NETNS"
  ip netns exec "$NETNS" ip link set lo up
  setsid nsenter "--net=/run/netns/$NETNS" socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
    "UNIX-CONNECT:$BGW_TOKEN_SOCKET" >"$DIR/forwarder.log" 2>&1 </dev/null &
  echo $! >"$DIR/forwarder.pid"
  if [ -n "$egress" ] && ! start_egress "$egress" "${egress_bridge%/*}" "$egress_port"; then
    log "the egress path could not be set up: the host does not start"
    stop
    exit 1
  fi
  # nsenter, not `ip netns exec`: that would also remount /sys and hide the cgroup mounts dockerd needs.
  setsid nsenter "--net=/run/netns/$NETNS" "${DOCKERD:-dockerd}" --host "unix://$SOCK" --data-root "$DIR/data" \
    --exec-root "$SHORT/exec" --pidfile "$DIR/docker.pid" --userns-remap default --iptables=false \
    --ip-masq=false "${bridge[@]}" --insecure-registry "$BGW_REGISTRY" >"$DIR/dockerd.log" 2>&1 </dev/null &
  echo $! >"$DIR/dockerd.launcher.pid"
  local _
  for _ in $(seq 1 240); do
    if curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; then
      echo "unix://$SOCK"
      return 0
    fi
    if ! kill -0 "$(cat "$DIR/dockerd.launcher.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  log "dockerd did not come up:"; tail -20 "$DIR/dockerd.log" >&2 || true
  stop
  exit 1
}

# start_egress <proxy host:port> <bridge address> <forwarder port>: the rules first (docker0 does not exist yet; the
# iptables rules name it, the ebtables rule needs no name), then the relay on the host (unix socket -> the proxy) and
# the forwarder in the namespace (0.0.0.0:<port> -> the socket; only <bridge address>:<port> is admitted from the
# bridge). Everything goes with the namespace and the host's folders (stop).
start_egress() {
  local proxy=$1 address=$2 eport=$3 sock=$SHORT/egress.sock
  egress_bridge_isolation "$NETNS" || return 1
  ip netns exec "$NETNS" iptables -P FORWARD DROP || return 1
  ip netns exec "$NETNS" iptables -A INPUT -i docker0 -p tcp -d "$address" --dport "$eport" -j ACCEPT || return 1
  ip netns exec "$NETNS" iptables -A INPUT -i docker0 -j DROP || return 1
  log "starting the egress relay $sock -> $proxy (the gateway's egress proxy)"
  setsid socat "UNIX-LISTEN:$sock,fork,mode=0600" "TCP:$proxy" >"$DIR/egress-relay.log" 2>&1 </dev/null &
  echo $! >"$DIR/egress-relay.pid"
  local _
  for _ in $(seq 1 40); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { log "the egress relay did not come up; see $DIR/egress-relay.log"; return 1; }
  egress_forwarder "$NETNS" "$eport" "$sock" "$DIR/egress-forwarder.log" "$DIR/egress-forwarder.pid"
}

stop() {
  # The launcher is nsenter, which execs dockerd: the same pid as docker.pid, unless dockerd never wrote it.
  stop_group "$DIR/docker.pid"
  stop_group "$DIR/dockerd.launcher.pid"
  stop_group "$DIR/forwarder.pid"
  stop_group "$DIR/egress-forwarder.pid"
  stop_group "$DIR/egress-relay.pid"
  if netns_exists; then
    # Anything still inside the namespace (a shim, a step's process, a socat child) goes too.
    local pids
    pids=$(ip netns pids "$NETNS" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      log "killing what is left in $NETNS: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 0.2
    fi
    ip netns del "$NETNS"
  fi
  local m
  for m in $(mounts_of); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DIR" "$SHORT"
}

# Nothing of the host is left: no folder, no namespace, no process in it or of its daemon, no mount.
check() {
  local left=()
  [ -e "$DIR" ] && left+=("data root $DIR")
  [ -e "$SHORT" ] && left+=("socket folder $SHORT")
  netns_exists && left+=("network namespace $NETNS")
  [ -n "$(mounts_of)" ] && left+=("mounts: $(mounts_of | tr '\n' ' ')")
  # Any process whose command line names the host's folders (dockerd, containerd, shims, socat).
  local procs
  procs=$(pgrep -f -- "($DIR|$SHORT)(/| |$)" || true)
  [ -n "$procs" ] && left+=("processes: $(echo "$procs" | tr '\n' ' ')")
  if [ ${#left[@]} -gt 0 ]; then printf '%s\n' "${left[@]}"; return 1; fi
  return 0
}

case $CMD in
  start) start ;;
  stop) stop ;;
  check) check ;;
  *) echo "usage: buildhost.sh start|stop|check <id> | list" >&2; exit 2 ;;
esac
