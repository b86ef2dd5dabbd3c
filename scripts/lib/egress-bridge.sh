# shellcheck shell=bash
# The build host side of controlled egress (issue #14, docs/egress.md) for a dockerd in a network namespace of its
# own, shared by scripts/env.sh (its test host) and scripts/buildhost.sh (ephemeral hosts): the daemon gets a bridge
# (dockerd --bip) inside the namespace, nothing routes beyond it, and its only neighbour is a forwarder to the
# gateway's egress proxy. Sourced, not run; the caller has `log`.

# The rule of egress_bridge_isolation: steps of concurrent egress builds share the bridge (docker0) in the namespace,
# and dockerd without iptables has no --icc=false. So the namespace gets an nftables table of family bridge
# (ebtables-nft's "filter", from the iptables package; the kernel's nf_tables, no nft binary needed) whose FORWARD
# chain (hook forward) drops every frame the bridge would forward from one port to another: one step never reaches
# another, whoever's build it is. A step's traffic to the bridge's own address (the egress forwarder) is delivered to
# the namespace (hook input), not forwarded, so the egress path stays. The namespace has no other bridge, so the rule
# needs no port names.
EGRESS_ISOLATION_RULE="-j DROP"

egress_isolation_present() { # <netns>
  ip netns exec "$1" ebtables-nft -t filter -L FORWARD 2>/dev/null | grep -qx -- "$EGRESS_ISOLATION_RULE"
}

# egress_bridge_isolation <netns>: idempotent; returns non-zero (after a log line) when the rule is not in place, and
# the caller must then not run egress steps.
egress_bridge_isolation() {
  local netns=$1
  if egress_isolation_present "$netns"; then log "bridge isolation already in $netns"; return 0; fi
  log "isolating the ports of the egress bridge in $netns (nftables, family bridge: table filter, chain FORWARD: drop)"
  # shellcheck disable=SC2086
  if ! ip netns exec "$netns" ebtables-nft -t filter -A FORWARD $EGRESS_ISOLATION_RULE \
      || ! egress_isolation_present "$netns"; then
    log "could not install the bridge isolation rule in $netns (ebtables-nft, nf_tables bridge family)"; return 1
  fi
}

# egress_forwarder <netns> <port> <unix socket> <log file> <pid file>: inside the namespace 0.0.0.0:<port> leads to
# the unix socket (a file: reachable from inside), whatever leads from it to the gateway's egress proxy. Waits until
# it listens; non-zero when it does not come up.
egress_forwarder() {
  local netns=$1 port=$2 socket=$3 logfile=$4 pidfile=$5 _
  log "starting the egress forwarder 0.0.0.0:$port -> $socket in $netns"
  setsid nsenter "--net=/run/netns/$netns" socat "TCP-LISTEN:$port,bind=0.0.0.0,reuseaddr,fork" \
    "UNIX-CONNECT:$socket" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 40); do
    if ip netns exec "$netns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  log "the egress forwarder did not come up; see $logfile"; return 1
}
