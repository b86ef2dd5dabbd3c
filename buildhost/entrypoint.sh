#!/bin/sh
# The build host's entrypoint (run by tini; it ends by exec'ing dockerd). docs/egress.md "Helm build hosts".
#
# Without BGW_EGRESS_PROXY: dockerd exactly as before, with /etc/docker/daemon.json ("bridge": "none": every build
# step has network none).
#
# With BGW_EGRESS_PROXY=<host>:<port> (the gateway's egress proxy as this pod reaches it, e.g. the chart's egress
# Service): the egress path of issue #14 inside this pod's network namespace, as scripts/env.sh sets it up for its
# hosts. RUN steps of builds with an egress allowlist (BuildKit network mode "default") are put on a bridge whose only
# neighbour is a forwarder to that proxy:
#   - docker0 = BGW_EGRESS_BRIDGE (default 10.213.0.1/24; dockerd's --bip), made here so that the forwarder can bind
#     to its address before dockerd starts; dockerd gets "bip", "ip-forward": false (and keeps "iptables": false,
#     "ip-masq": false: it touches no rule);
#   - net.ipv4.ip_forward = 0 (and IPv6 forwarding 0), iptables FORWARD policy DROP: nothing is routed off the bridge;
#   - INPUT from docker0: only TCP to <bridge address>:BGW_EGRESS_PORT (the forwarder) is accepted, everything else
#     from docker0 (dockerd's :2376, the pod's other listeners, any other address) is dropped; IPv6 from docker0 is
#     dropped entirely;
#   - an nftables table of family bridge (ebtables-nft, filter/FORWARD, policy DROP and "-j DROP"): frames between two
#     ports of the bridge are dropped, so steps of concurrent builds cannot reach each other;
#   - socat listening on <bridge address>:BGW_EGRESS_PORT (default 3128), relaying each connection to
#     BGW_EGRESS_PROXY.
# It FAILS CLOSED: if a value is malformed, a rule cannot be installed or read back, or the forwarder does not
# listen, it prints "build-host egress: FATAL: ..." and exits 1, and dockerd is never started.
#
# Writes only under /run (an emptyDir in the chart; the root filesystem stays read-only). Idempotent: a restarted
# container in the same pod (same network namespace) finds its own chains and bridge and sets them again.
# shellcheck disable=SC2015  # "A && B || fatal": any failure of A or B is fatal, as meant.
set -eu

DOCKERD=${BGW_DOCKERD:-/usr/sbin/dockerd}
CONFIG=${BGW_DAEMON_CONFIG:-/etc/docker/daemon.json}

if [ -z "${BGW_EGRESS_PROXY:-}" ]; then
  exec "$DOCKERD" --config-file "$CONFIG" "$@"
fi

fatal() {
  echo "build-host egress: FATAL: $*; dockerd is not started (docs/egress.md \"Helm build hosts\")" >&2
  exit 1
}
say() { echo "build-host egress: $*" >&2; }

BRIDGE=${BGW_EGRESS_BRIDGE:-10.213.0.1/24}
PORT=${BGW_EGRESS_PORT:-3128}
PROXY=$BGW_EGRESS_PROXY
RUNDIR=${BGW_EGRESS_RUNDIR:-/run/build-host-egress}
IPT=${BGW_IPTABLES:-iptables-nft}
IP6T=${BGW_IP6TABLES:-ip6tables-nft}
EBT=${BGW_EBTABLES:-ebtables-nft}
CHAIN=BGW-EGRESS-IN

# ---- the values ------------------------------------------------------------------------------------------------
octet() { case $1 in ''|*[!0-9]*) return 1 ;; esac; [ ${#1} -le 3 ] && [ "$1" -le 255 ]; }
case $BRIDGE in
  */24) ADDR=${BRIDGE%/24} ;;
  *) fatal "BGW_EGRESS_BRIDGE=$BRIDGE is not an address/24 (e.g. 10.213.0.1/24: the bridge's own address, dockerd's --bip)" ;;
esac
IFS=. read -r o1 o2 o3 o4 rest <<EOF
$ADDR
EOF
{ [ -z "$rest" ] && octet "$o1" && octet "$o2" && octet "$o3" && octet "$o4"; } \
  || fatal "BGW_EGRESS_BRIDGE=$BRIDGE is not an IPv4 address/24"
[ "$o4" -ge 1 ] && [ "$o4" -le 254 ] || fatal "BGW_EGRESS_BRIDGE=$BRIDGE: the bridge's address must be a host of its /24"
case "$o1.$o2" in
  10.*|192.168|172.1[6-9]|172.2[0-9]|172.3[01]) ;;
  *) fatal "BGW_EGRESS_BRIDGE=$BRIDGE is not in a private range (10/8, 172.16/12, 192.168/16)" ;;
esac
case $PORT in ''|*[!0-9]*) fatal "BGW_EGRESS_PORT=$PORT is not a port number" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fatal "BGW_EGRESS_PORT=$PORT is not a port number"
[ "$PORT" != 2376 ] || fatal "BGW_EGRESS_PORT must not be dockerd's 2376"
case $PROXY in
  *[!A-Za-z0-9.:_-]*|:*|*:) fatal "BGW_EGRESS_PROXY=$PROXY is not <host>:<port>" ;;
  *:*) PROXY_PORT=${PROXY##*:} ;;
  *) fatal "BGW_EGRESS_PROXY=$PROXY is not <host>:<port>" ;;
esac
case $PROXY_PORT in ''|*[!0-9]*) fatal "BGW_EGRESS_PROXY=$PROXY is not <host>:<port>" ;; esac
for tool in ip ss socat "$IPT" "$EBT"; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not in the image (base/debian-dockerd recipe)"
done
grep -q '"bridge": "none"' "$CONFIG" || fatal "$CONFIG has no \"bridge\": \"none\" line to replace"

mkdir -p "$RUNDIR" || fatal "cannot create $RUNDIR (is /run writable?)"

# ---- routing off ---------------------------------------------------------------------------------------------------
sysctl_set() { # <path under /proc/sys> <value>
  { echo "$2" >"/proc/sys/$1"; } 2>/dev/null && [ "$(cat "/proc/sys/$1")" = "$2" ] \
    || fatal "cannot set /proc/sys/$1 to $2 (a privileged container with its own network namespace is needed)"
}
sysctl_set net/ipv4/ip_forward 0
IPV6=false
if [ -d /proc/sys/net/ipv6 ]; then
  IPV6=true
  sysctl_set net/ipv6/conf/all/forwarding 0
fi

# ---- iptables: no forwarding, INPUT from docker0 only to the forwarder --------------------------------------------
ipt() { "$IPT" -w 5 "$@" 2>"$RUNDIR/iptables.err" || fatal "$IPT $* failed: $(cat "$RUNDIR/iptables.err")"; }
ipt -P FORWARD DROP
"$IPT" -w 5 -N "$CHAIN" 2>/dev/null || ipt -F "$CHAIN"
ipt -A "$CHAIN" -p tcp -d "$ADDR" --dport "$PORT" -j ACCEPT
ipt -A "$CHAIN" -j DROP
"$IPT" -w 5 -C INPUT -i docker0 -j "$CHAIN" 2>/dev/null || ipt -I INPUT 1 -i docker0 -j "$CHAIN"
# Read back: the policy and both rules, and the jump as INPUT's first rule.
"$IPT" -w 5 -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP' || fatal "the FORWARD policy is not DROP"
[ "$("$IPT" -w 5 -S "$CHAIN" 2>/dev/null | grep -c -e "-A $CHAIN -d $ADDR/32 -p tcp -m tcp --dport $PORT -j ACCEPT" -e "^-A $CHAIN -j DROP\$")" = 2 ] \
  || fatal "the $CHAIN rules are not as installed: $("$IPT" -w 5 -S "$CHAIN" 2>&1 | tr '\n' ';')"
"$IPT" -w 5 -S INPUT 2>/dev/null | grep -m1 '^-A INPUT' | grep -qx -- "-A INPUT -i docker0 -j $CHAIN" \
  || fatal "the jump from INPUT to $CHAIN is not INPUT's first rule"
if [ "$IPV6" = true ]; then
  command -v "$IP6T" >/dev/null 2>&1 || fatal "$IP6T is not in the image"
  ip6t() { "$IP6T" -w 5 "$@" 2>"$RUNDIR/iptables.err" || fatal "$IP6T $* failed: $(cat "$RUNDIR/iptables.err")"; }
  ip6t -P FORWARD DROP
  "$IP6T" -w 5 -N "$CHAIN" 2>/dev/null || ip6t -F "$CHAIN"
  ip6t -A "$CHAIN" -j DROP
  "$IP6T" -w 5 -C INPUT -i docker0 -j "$CHAIN" 2>/dev/null || ip6t -I INPUT 1 -i docker0 -j "$CHAIN"
  "$IP6T" -w 5 -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP' || fatal "the IPv6 FORWARD policy is not DROP"
fi

# ---- the bridge's ports cannot reach each other (nftables, family bridge) ----------------------------------------
"$EBT" -t filter -P FORWARD DROP 2>"$RUNDIR/ebtables.err" \
  || fatal "$EBT -t filter -P FORWARD DROP failed (nf_tables bridge family): $(cat "$RUNDIR/ebtables.err")"
if ! "$EBT" -t filter -L FORWARD 2>/dev/null | grep -qx -- '-j DROP'; then
  "$EBT" -t filter -A FORWARD -j DROP 2>"$RUNDIR/ebtables.err" \
    || fatal "$EBT -t filter -A FORWARD -j DROP failed: $(cat "$RUNDIR/ebtables.err")"
fi
"$EBT" -t filter -L FORWARD 2>/dev/null | grep -q 'policy: DROP' \
  && "$EBT" -t filter -L FORWARD 2>/dev/null | grep -qx -- '-j DROP' \
  || fatal "the bridge FORWARD drop is not in place: $("$EBT" -t filter -L FORWARD 2>&1 | tr '\n' ';')"

# ---- the bridge --------------------------------------------------------------------------------------------------
if ! ip link show docker0 >/dev/null 2>&1; then
  ip link add docker0 type bridge 2>"$RUNDIR/ip.err" || fatal "cannot create the bridge docker0: $(cat "$RUNDIR/ip.err")"
fi
ip addr flush dev docker0 2>/dev/null || true
ip addr add "$BRIDGE" dev docker0 2>"$RUNDIR/ip.err" || fatal "cannot give docker0 $BRIDGE: $(cat "$RUNDIR/ip.err")"
if [ "$IPV6" = true ] && [ -e /proc/sys/net/ipv6/conf/docker0/disable_ipv6 ]; then
  sysctl_set net/ipv6/conf/docker0/disable_ipv6 1
fi
ip link set docker0 up 2>"$RUNDIR/ip.err" || fatal "cannot bring docker0 up: $(cat "$RUNDIR/ip.err")"

# ---- the forwarder -----------------------------------------------------------------------------------------------
# One socat, forking per connection; it becomes dockerd's child when this shell exec's dockerd. If it dies, steps'
# connections are refused: egress builds fail, they never get another way out.
socat "TCP-LISTEN:$PORT,bind=$ADDR,reuseaddr,fork" "TCP:$PROXY" </dev/null >&2 &
FORWARDER=$!
i=0
# Listening is read from the socket table (ss), not by connecting: a test connection would reach the proxy.
until ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q -- " $ADDR:$PORT "; do
  kill -0 "$FORWARDER" 2>/dev/null || fatal "the forwarder (socat on $ADDR:$PORT) exited"
  i=$((i + 1))
  [ "$i" -le 50 ] || { kill "$FORWARDER" 2>/dev/null; fatal "the forwarder does not listen on $ADDR:$PORT"; }
  sleep 0.1
done
say "egress path ready: bridge docker0 $BRIDGE, forwarder $ADDR:$PORT -> $PROXY, forwarding off, bridge ports isolated"

# ---- dockerd with the bridge -------------------------------------------------------------------------------------
sed "s|\"bridge\": \"none\"|\"bip\": \"$BRIDGE\", \"ip-forward\": false|" "$CONFIG" >"$RUNDIR/daemon.json" \
  || fatal "cannot write $RUNDIR/daemon.json"
grep -q "\"bip\": \"$BRIDGE\"" "$RUNDIR/daemon.json" || fatal "$RUNDIR/daemon.json has no bip"
exec "$DOCKERD" --config-file "$RUNDIR/daemon.json" "$@"
