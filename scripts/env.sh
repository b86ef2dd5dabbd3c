#!/usr/bin/env bash
# Local environment for Build Gateway: install packages, start/stop a user-namespaced build host, a plain (non-userns)
# daemon for the refusal test, a registry, and build the approved base images offline.
#
# Confinement (docs/security.md): the user-namespaced build daemon runs in a network namespace of its own with only
# a loopback interface. Inside it, a forwarder (socat) listens on 127.0.0.1:<registry port> and leads to a second
# registry process on the same storage that demands tokens signed by the gateway (a unix socket). So image references
# are the same inside and outside, and the daemon reaches nothing else: no URL of an ADD, no other registry, no
# other service of the machine. The open registry on the host's loopback is for the gateway and these scripts only.
#
# Controlled egress (issue #14, docs/egress.md): the build daemon has a bridge (docker0, $EGRESS_BRIDGE) inside its
# namespace, and nothing routes beyond it. A second forwarder listens on 0.0.0.0:<egress port> inside the namespace
# (so on the bridge's address for RUN steps, on 127.0.0.1 for the daemon itself) and leads, through a unix socket and
# a relay on the host, to the gateway's egress proxy on 127.0.0.1:<egress port>. A build step with network (only for
# a team with an egress allowlist) reaches that proxy and nothing else. For `make test` the same script serves local
# mirrors (an apt repository of real .deb files, a Maven repository layout) and a canary server that logs every
# request, all on the host's loopback: reachable from a build only through the proxy.
#
#   scripts/env.sh install <name>               install the packages and daemons only (idempotent, needs apt)
#   scripts/env.sh up   <name> [--plain-host]   start (idempotent) and write <state>/env.sh with the addresses
#   scripts/env.sh down <name>                  stop what `up` started, by pid
#
# <name> is "run" (make run) or "test" (make test); each has its own folders, socket, registry port.
# Daemons log to files under the state folder, never to this terminal.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CMD=${1:?usage: env.sh install|up|down <name>}
NAME=${2:?usage: env.sh install|up|down <name>}
shift 2 || true
PLAIN=false
for a in "$@"; do [ "$a" = --plain-host ] && PLAIN=true; done
# make run's daemons are kept running (scripts/lib/keep-dockerd.sh: started again when they end on their own, as a
# BuildKit panic ends them); the tests' are not, because HostLostIT kills one and watches the gateway see it gone.
# BGW_KEEP_DOCKERD=true|false decides either way.
KEEP_DAEMONS=${BGW_KEEP_DOCKERD:-$([ "$NAME" = run ] && echo true || echo false)}

STATE=$ROOT/.state/$NAME
# Unix socket paths are limited to ~100 bytes: sockets and exec roots go to a short folder named by a hash of ROOT.
HASH=$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)
SHORT=/run/bgw-$HASH-$NAME
# The build host's network namespace: loopback only, plus the forwarder to the token registry.
NETNS=bgw-$HASH-$NAME-host1
# The token registry's unix socket (reached from inside the namespace through the forwarder only).
TOKEN_SOCKET=$SHORT-registry.sock
TOKEN_DIR=$STATE/registry-token
TOKEN_SERVICE=build-gateway-registry
TOKEN_ISSUER=build-gateway
case $NAME in
  run) REGISTRY_PORT=${BGW_REGISTRY_PORT:-5000} ;;
  test) REGISTRY_PORT=${BGW_REGISTRY_PORT:-5001} ;;
  *) REGISTRY_PORT=${BGW_REGISTRY_PORT:-5002} ;;
esac
REGISTRY=127.0.0.1:$REGISTRY_PORT
# The gateway's egress proxy (gateway.egress.listen), the local mirrors and the canary: one port each, derived from
# the registry port unless given.
EGRESS_PORT=${BGW_EGRESS_PORT:-$((REGISTRY_PORT + 100))}
MIRROR_PORT=${BGW_MIRROR_PORT:-$((REGISTRY_PORT + 200))}
CANARY_PORT=${BGW_CANARY_PORT:-$((REGISTRY_PORT + 300))}
EGRESS_SOCKET=$SHORT-egress.sock
# The build host's bridge inside its namespace: RUN steps with network get an address on it and reach the egress
# forwarder at its first address. It lives in the namespace only, so every environment may use the same one.
EGRESS_BRIDGE=${BGW_EGRESS_BRIDGE:-10.213.0.1/24}
EGRESS_GATEWAY_IP=${EGRESS_BRIDGE%/*}
# The daemon's own cap on its BuildKit build cache (daemon.json builder.gc, docs/operations.md): a backstop below
# the gateway's per-host cap (gateway.hostpool.hosts[].build-cache-max), which prunes when a build ends above it.
BUILD_CACHE_KEEP=${BGW_BUILD_CACHE_KEEP:-10GB}
CACHE=${BGW_CACHE:-/var/cache/build-gateway}

log() { printf '[env %s] %s\n' "$NAME" "$*" >&2; }
# shellcheck source=scripts/lib/egress-bridge.sh disable=SC1091
. "$ROOT/scripts/lib/egress-bridge.sh"

install_packages() {
  local need=()
  command -v docker-registry >/dev/null || need+=(docker-registry)
  [ -x /bin/busybox ] && /bin/busybox --help 2>&1 | grep -q 'static' || dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v oscap >/dev/null || need+=(openscap-scanner)
  command -v newuidmap >/dev/null || need+=(uidmap)
  command -v socat >/dev/null || need+=(socat)
  command -v openssl >/dev/null || need+=(openssl)
  command -v ip >/dev/null || need+=(iproute2)
  # ebtables-nft: the isolation of the egress bridge's ports (start_isolation).
  command -v ebtables-nft >/dev/null || need+=(iptables)
  command -v curl >/dev/null || need+=(curl)
  command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || need+=(maven)
  command -v jq >/dev/null || need+=(jq)
  # The test environment's HTTP servers (the egress mirror, the canary) are python3's http.server.
  command -v python3 >/dev/null || need+=(python3)
  command -v bc >/dev/null || need+=(bc)
  # dpkg-scanpackages, for the test apt mirror of controlled egress (issue #14).
  command -v dpkg-scanpackages >/dev/null || need+=(dpkg-dev)
  # ShellCheck, for the optional pass over RUN scripts (policy shellcheck.enabled, lint?shellcheck=true).
  command -v shellcheck >/dev/null || need+=(shellcheck)
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

# The build hosts run Debian 13's dockerd 26 (BuildKit by default: heredocs, RUN --mount, COPY --link; issue #13) on
# this Debian 12 userland. Debian 13 (trixie) is added as an apt source at pin priority 50, below an installed
# package's 100, so nothing is ever taken from it unless named here; its runc (it needs a newer glibc) is pinned away
# and bookworm's runc 1.1.5 serves. Before the upgrade, Debian 12's dockerd 20.10 is kept (dpkg -x) in the cache: the
# test environment starts it as an "old" host that health must refuse for BuildKit builds.
DOCKER_VERSION=26.1.5
TRIXIE_SOURCES=/etc/apt/sources.list.d/build-gateway-trixie.sources
TRIXIE_PIN=/etc/apt/preferences.d/build-gateway-trixie
OLD_DOCKER=$CACHE/docker-20.10

daemon_is_current() {
  dpkg-query -W -f '${Version}' docker.io 2>/dev/null | grep -q "^$DOCKER_VERSION" \
    && dpkg -s docker-buildx >/dev/null 2>&1
}

keep_old_daemon() {
  [ -x "$OLD_DOCKER/usr/sbin/dockerd" ] && return 0
  local v tmp
  v=$(apt-cache madison docker.io | awk -F'|' '$2 ~ /20\.10/ {gsub(/ /,"",$2); print $2; exit}')
  [ -n "$v" ] || { log "no docker.io 20.10 in the apt lists: the old test host will be missing"; return 0; }
  log "keeping Debian 12's dockerd $v in $OLD_DOCKER (the old host of the tests)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "docker.io=$v" >/dev/null 2>&1 && dpkg -x docker.io_*.deb "$tmp/root")
  mkdir -p "$CACHE"
  rm -rf "$OLD_DOCKER"
  mv "$tmp/root" "$OLD_DOCKER"
  rm -rf "$tmp"
}

install_daemon() {
  if daemon_is_current && [ -f "$TRIXIE_PIN" ] && { [ "$NAME" != test ] || [ -x "$OLD_DOCKER/usr/sbin/dockerd" ]; }; then
    return 0
  fi
  local mirror
  mirror=$(debian_mirror)
  if [ ! -f "$TRIXIE_SOURCES" ] || [ ! -f "$TRIXIE_PIN" ]; then
    log "adding Debian 13 (trixie) as a source at pin priority 50 (only the daemon packages are taken from it)"
    cat >"$TRIXIE_SOURCES" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat >"$TRIXIE_PIN" <<PIN
# Build Gateway (scripts/env.sh): only the packages named on the apt-get line come from trixie.
Package: *
Pin: release n=trixie
Pin-Priority: 50

# Debian 13's runc needs a newer glibc than Debian 12's; bookworm's runc 1.1.5 serves dockerd 26.
Package: runc
Pin: release n=trixie
Pin-Priority: -1
PIN
  fi
  apt-get update -qq >/dev/null
  keep_old_daemon
  if ! daemon_is_current; then
    log "installing dockerd $DOCKER_VERSION, containerd, docker-cli and docker-buildx from Debian 13"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      docker.io/trixie docker-cli/trixie containerd/trixie docker-buildx/trixie >/dev/null
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

# daemon_config <keep> — a build host's daemon.json: BuildKit's garbage collection drops cache mounts unused for 48
# hours while the build cache is above a quarter of <keep>, and holds the whole build cache at <keep>, least recently
# used first (docs/operations.md "BuildKit build cache"). daemon.json takes one value per filter key ("type=…", a
# single "="; commas inside one value would AND the types, which no record matches). The 48 hours are the filter
# "unused-for=48h": a GC rule has no "keepDuration" key in dockerd's daemon.json (it was ignored, and every cache
# mount not in use went as soon as the whole cache passed a quarter of <keep>; BuildKitCacheIT saw a team's cache
# mount gone between two builds).
daemon_config() {
  local keep=$1 small
  small=$(( $(numfmt --from=iec "${keep%B}") / 4 ))
  jq -n --arg keep "$keep" --arg small "$small" '{
    builder: { gc: { enabled: true, defaultKeepStorage: $keep, policy: [
      { keepStorage: ($small + "B"), filter: ["type=exec.cachemount", "unused-for=48h"] },
      { keepStorage: $keep, all: true } ] } } }'
}

# start_dockerd <label> <userns:true|false> [<netns>] — $DOCKERD names another daemon binary (the old test host).
# A daemon in a network namespace gets the egress bridge ($EGRESS_BRIDGE): BuildKit's network mode "default" puts a
# RUN step on it. Network mode "host" cannot serve: a step of a user-namespaced daemon that joins the daemon's own
# namespace fails in runc ("mount sysfs:/sys: operation not permitted": the step's user namespace does not own that
# network namespace), so the daemon's namespace gets a bridge whose only neighbour is the egress forwarder. No
# iptables, no masquerading: nothing in the namespace routes beyond it. Other daemons keep --bridge=none.
# With a network namespace the daemon (and the containerd it spawns) lives in it (nsenter: `ip netns exec` would
# also remount /sys and hide the cgroup mounts dockerd needs); the gateway still reaches the
# daemon's unix socket, which is a file.
start_dockerd() {
  local label=$1 userns=$2 netns=${3:-}
  local dir=$STATE/$label short=$SHORT-$label
  mkdir -p "$dir/data" "$short"
  local sock=$short/docker.sock pid=$dir/docker.pid
  local bridge=(--bridge=none)
  [ -n "$netns" ] && bridge=(--bip "$EGRESS_BRIDGE")
  local config
  config=$(daemon_config "$BUILD_CACHE_KEEP")
  if alive "$pid" && curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
    if [ "$KEEP_DAEMONS" = true ] && ! alive "$dir/keeper.pid"; then
      log "dockerd $label runs without its keeper: restarting it under one"
      stop_dockerd "$dir" "$label"
    elif [ "$KEEP_DAEMONS" != true ] && alive "$dir/keeper.pid"; then
      log "dockerd $label runs under a keeper this environment does not want: restarting it without"
      stop_dockerd "$dir" "$label"
    elif [ "$(cat "$dir/daemon.json" 2>/dev/null)" != "$config" ]; then
      log "dockerd $label runs with another daemon.json: restarting it"
      stop_dockerd "$dir" "$label"
    elif [ -n "$netns" ] && [ "$(cat "$dir/bridge" 2>/dev/null)" != "${bridge[*]}" ]; then
      log "dockerd $label runs without the egress bridge: restarting it"
      stop_dockerd "$dir" "$label"
    elif [ -z "$netns" ] || in_netns "$pid"; then
      log "dockerd $label already running"; echo "$sock"; return
    else
      log "dockerd $label runs outside $netns: restarting it inside"
      stop_dockerd "$dir" "$label"
    fi
  fi
  # Whatever is left of an earlier start (a keeper between two starts, a daemon that does not answer): stopped first,
  # or a keeper would start a second daemon on the same data root.
  stop_dockerd "$dir" "$label"
  rm -f "$sock"
  local extra=() wrap=()
  [ "$userns" = true ] && extra+=(--userns-remap default)
  # Its own daemon.json (never /etc/docker's): the BuildKit cache's garbage collection, moby's builder.gc keys.
  printf '%s\n' "$config" >"$dir/daemon.json"
  extra+=(--config-file "$dir/daemon.json")
  [ -n "$netns" ] && wrap=(nsenter "--net=/run/netns/$netns")
  local daemon=("${DOCKERD:-dockerd}" --host "unix://$sock" --data-root "$dir/data" --exec-root "$short/exec"
      --pidfile "$pid" "${extra[@]}" --iptables=false --ip-masq=false "${bridge[@]}" --insecure-registry "$REGISTRY")
  : >"$dir/dockerd.log"
  if [ "$KEEP_DAEMONS" = true ]; then
    log "starting dockerd $label (userns=$userns${netns:+, network namespace $netns}), kept running by scripts/lib/keep-dockerd.sh"
    setsid "${wrap[@]}" "$ROOT/scripts/lib/keep-dockerd.sh" "$dir/keeper.pid" "$dir/dockerd.log" -- "${daemon[@]}" \
        >/dev/null 2>&1 </dev/null &
  else
    log "starting dockerd $label (userns=$userns${netns:+, network namespace $netns})"
    setsid "${wrap[@]}" "${daemon[@]}" >"$dir/dockerd.log" 2>&1 </dev/null &
  fi
  echo "${bridge[*]}" >"$dir/bridge"
  if ! wait_for_socket "$sock"; then
    log "dockerd $label did not come up; see $dir/dockerd.log"; tail -20 "$dir/dockerd.log" >&2
    stop_dockerd "$dir" "$label" # no keeper left starting it again every 30 s
    exit 1
  fi
  echo "$sock"
}

# The part of a registry configuration both registry processes share: the storage folder, then the "http:" key.
registry_storage_config() {
  cat <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $1/data
  delete:
    enabled: true
http:
YML
}

start_registry() {
  local dir=$STATE/registry
  mkdir -p "$dir/data"
  if alive "$dir/registry.pid" && curl -sf "http://$REGISTRY/v2/" >/dev/null; then
    log "registry already running on $REGISTRY"; return
  fi
  { registry_storage_config "$dir"; printf '  addr: %s\n' "$REGISTRY"; } >"$dir/config.yml"
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

# The key that signs registry tokens (only the gateway reads it: 0600) and its self-signed certificate, which the
# token registry trusts (rootcertbundle) and every token carries (x5c).
token_keys() {
  mkdir -p "$TOKEN_DIR"
  chmod 0700 "$TOKEN_DIR"
  if [ -s "$TOKEN_DIR/key.pem" ] && [ -s "$TOKEN_DIR/cert.pem" ]; then return; fi
  log "generating the registry token key"
  (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TOKEN_DIR/key.pem" 2>/dev/null)
  chmod 0600 "$TOKEN_DIR/key.pem"
  openssl req -new -x509 -key "$TOKEN_DIR/key.pem" -out "$TOKEN_DIR/cert.pem" -days 3650 \
    -subj "/CN=build-gateway registry tokens ($NAME)" 2>/dev/null
}

# The registry the build daemon reaches: the same storage as the open one, token authentication, a unix socket.
# Two registry processes on one filesystem storage are safe here: there is no blob descriptor cache (storage.cache
# is unset), uploads finish with atomic renames, and each upload is served by the process that started it.
start_token_registry() {
  local dir=$STATE/registry
  if alive "$dir/token-registry.pid" && [ -S "$TOKEN_SOCKET" ]; then
    log "token registry already running on $TOKEN_SOCKET"; return
  fi
  rm -f "$TOKEN_SOCKET"
  { registry_storage_config "$dir"; cat <<YML
  net: unix
  addr: $TOKEN_SOCKET
auth:
  token:
    # The gateway does not hand out tokens on request: it mints one per build and gives it to the daemon. The realm
    # only names the gateway.
    realm: http://localhost:${GATEWAY_PORT:-8080}/registry-token
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $TOKEN_DIR/cert.pem
YML
  } >"$dir/token-config.yml"
  log "starting token registry on $TOKEN_SOCKET"
  setsid docker-registry serve "$dir/token-config.yml" >"$dir/token-registry.log" 2>&1 </dev/null &
  echo $! >"$dir/token-registry.pid"
  local i
  for i in $(seq 1 80); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$TOKEN_SOCKET" http://localhost/v2/ 2>/dev/null)" = 401 ]; then
      return
    fi
    sleep 0.25
  done
  log "token registry did not come up; see $dir/token-registry.log"; exit 1
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# mint_token <seconds> <repository>:<actions>... — a registry token as the gateway mints them (RS256, x5c).
mint_token() {
  local ttl=$1 now access header claims sig a
  shift
  now=$(date +%s)
  access=$(for a in "$@"; do
    jq -n -c --arg n "${a%%:*}" --arg acts "${a#*:}" '{type:"repository",name:$n,actions:($acts|split(","))}'
  done | jq -s -c .)
  header=$(printf '{"alg":"RS256","typ":"JWT","x5c":["%s"]}' \
    "$(openssl x509 -in "$TOKEN_DIR/cert.pem" -outform DER | openssl base64 -A)" | b64url)
  claims=$(jq -n -c --arg iss "$TOKEN_ISSUER" --arg aud "$TOKEN_SERVICE" --argjson now "$now" --argjson ttl "$ttl" \
    --arg jti "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" --argjson access "$access" \
    '{iss:$iss, sub:"env.sh", aud:$aud, iat:$now, nbf:($now-60), exp:($now+$ttl), jti:$jti, access:$access}' | b64url)
  sig=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$TOKEN_DIR/key.pem" -binary | b64url)
  printf '%s.%s.%s' "$header" "$claims" "$sig"
}

# The Docker CLI's configuration for this environment's own pushes through the build host (base images here, a
# moved base in tests, the bench's direct builds): a token for those repositories only, valid 12 hours, minted anew
# by every `up`. Builds through the gateway never use it.
docker_config() {
  local dir=$STATE/docker-config token
  mkdir -p "$dir"
  chmod 0700 "$dir"
  token=$(mint_token 43200 base/busybox:push,pull base/debian:push,pull base/debian-jre-tools:push,pull \
    base/debian-dockerd:push,pull bench/direct:push,pull)
  (umask 077 && jq -n --arg r "$REGISTRY" --arg t "$token" '{auths: {($r): {registrytoken: $t}}}' >"$dir/config.json")
}

start_netns() {
  if ! ip netns list | grep -q "^$NETNS\b"; then
    log "creating network namespace $NETNS (loopback only)"
    ip netns add "$NETNS"
  fi
  ip netns exec "$NETNS" ip link set lo up
}

# The isolation of the egress bridge's ports (scripts/lib/egress-bridge.sh, shared with scripts/buildhost.sh's
# ephemeral hosts): ebtables-nft FORWARD drop in the namespace. Idempotent; `up` fails rather than run egress steps
# without it.
ISOLATION_RULE=$EGRESS_ISOLATION_RULE
start_isolation() {
  egress_bridge_isolation "$NETNS" || exit 1
}

in_netns() { [ -f "$1" ] && [ "$(ip netns identify "$(cat "$1")" 2>/dev/null)" = "$NETNS" ]; }

# Inside the namespace, 127.0.0.1:<registry port> leads to the token registry, and nothing else is there.
start_forwarder() {
  local dir=$STATE/host1 pid=$STATE/host1/forwarder.pid i
  mkdir -p "$dir"
  if alive "$pid" && in_netns "$pid"; then log "forwarder already running in $NETNS"; return; fi
  stop_pid "$pid" forwarder
  log "starting the forwarder 127.0.0.1:$REGISTRY_PORT -> $TOKEN_SOCKET in $NETNS"
  setsid nsenter "--net=/run/netns/$NETNS" socat "TCP-LISTEN:$REGISTRY_PORT,bind=127.0.0.1,reuseaddr,fork" \
    "UNIX-CONNECT:$TOKEN_SOCKET" >"$dir/forwarder.log" 2>&1 </dev/null &
  echo $! >"$pid"
  for i in $(seq 1 40); do
    if [ "$(ip netns exec "$NETNS" curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/" 2>/dev/null)" = 401 ]; then
      return
    fi
    sleep 0.25
  done
  log "the forwarder did not come up; see $dir/forwarder.log"; exit 1
}

# The egress path of RUN steps (issue #14): inside the namespace 0.0.0.0:<egress port> leads to a unix socket, and a
# relay on the host leads from it to the gateway's egress proxy on 127.0.0.1:<egress port>. When the gateway is not
# running a step's connection is refused, as when the proxy refuses it.
start_egress_forwarder() {
  local dir=$STATE/host1 relay=$STATE/host1/egress-relay.pid fwd=$STATE/host1/egress-forwarder.pid
  mkdir -p "$dir"
  if alive "$relay" && [ -S "$EGRESS_SOCKET" ]; then
    log "egress relay already running on $EGRESS_SOCKET"
  else
    stop_pid "$relay" "egress relay"
    rm -f "$EGRESS_SOCKET"
    log "starting the egress relay $EGRESS_SOCKET -> 127.0.0.1:$EGRESS_PORT (the gateway's egress proxy)"
    # Per connection, the port in $STATE/egress-port if a test wrote it (a test gateway's listener on a free port:
    # several gateways may share a test JVM), else $EGRESS_PORT (make run's gateway.egress.listen).
    # (A script: socat's address syntax would split an inline command at its colons.)
    cat >"$dir/egress-connect.sh" <<SH
#!/bin/sh
exec socat STDIO "TCP:127.0.0.1:\$(cat '$STATE/egress-port' 2>/dev/null || echo $EGRESS_PORT)"
SH
    chmod 0755 "$dir/egress-connect.sh"
    setsid socat "UNIX-LISTEN:$EGRESS_SOCKET,fork,mode=0600" "EXEC:$dir/egress-connect.sh" \
      >"$dir/egress-relay.log" 2>&1 </dev/null &
    echo $! >"$relay"
  fi
  if alive "$fwd" && in_netns "$fwd"; then log "egress forwarder already running in $NETNS"; return; fi
  stop_pid "$fwd" "egress forwarder"
  egress_forwarder "$NETNS" "$EGRESS_PORT" "$EGRESS_SOCKET" "$dir/egress-forwarder.log" "$fwd" || exit 1
}

# The mirrors of make test (issue #14), as static files in $CACHE/egress-mirror (kept between runs):
#   debian/  an apt repository ("deb [trusted=yes] http://127.0.0.1:<mirror port>/debian stable main") of a few
#            real, small .deb files of Debian 12 that need nothing beyond a minbase (apt-get download;
#            dpkg-scanpackages; a Release file with the indexes' SHA256). Not a flat repository: apt asks a flat one
#            for ".../debian/./Packages", a dot segment the egress proxy refuses (docs/egress.md);
#   maven2/  a Maven repository layout with one real library (jar, pom, .sha1) taken from the local ~/.m2.
MIRROR_DEBS="hello tree"
MIRROR_MAVEN_ARTIFACT=${BGW_MIRROR_MAVEN_ARTIFACT:-org/slf4j/slf4j-api}
build_mirrors() {
  local root=$CACHE/egress-mirror
  local pool=$root/debian/pool/main index=$root/debian/dists/stable/main/binary-amd64
  mkdir -p "$pool" "$index" "$root/maven2"
  local p missing=()
  for p in $MIRROR_DEBS; do ls "$pool/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "downloading ${missing[*]} for the test apt mirror"
    # As root into a folder _apt cannot write: apt says so on stderr and downloads unsandboxed, which is what we want.
    (cd "$pool" && apt-get download -qq "${missing[@]}" >/dev/null 2>&1)
    rm -f "$root/debian/dists/stable/Release"
  fi
  if [ ! -s "$root/debian/dists/stable/Release" ]; then
    (cd "$root/debian" && dpkg-scanpackages --multiversion pool/main /dev/null 2>/dev/null >"$index/Packages" \
      && gzip -9kf "$index/Packages")
    {
      printf 'Origin: build-gateway test mirror\nSuite: stable\nCodename: stable\nComponents: main\n'
      printf 'Architectures: amd64\nDate: %s\nSHA256:\n' "$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
      for f in Packages Packages.gz; do
        printf ' %s %s main/binary-amd64/%s\n' "$(sha256sum "$index/$f" | cut -d' ' -f1)" "$(stat -c %s "$index/$f")" "$f"
      done
    } >"$root/debian/dists/stable/Release"
  fi
  if ! find "$root/maven2" -name '*.jar' | grep -q .; then
    local m2=${BGW_M2:-$HOME/.m2/repository} v src dst f
    v=$(for d in "$m2/$MIRROR_MAVEN_ARTIFACT"/[0-9]*/; do
      d=$(basename "$d"); [ -f "$m2/$MIRROR_MAVEN_ARTIFACT/$d/$(basename "$MIRROR_MAVEN_ARTIFACT")-$d.jar" ] && echo "$d"
    done | sort -V | tail -n1)
    [ -n "$v" ] || { log "no $MIRROR_MAVEN_ARTIFACT jar in $m2: the test Maven mirror stays empty"; return 0; }
    src=$m2/$MIRROR_MAVEN_ARTIFACT/$v
    dst=$root/maven2/$MIRROR_MAVEN_ARTIFACT/$v
    mkdir -p "$dst"
    for f in jar pom; do
      cp "$src/$(basename "$MIRROR_MAVEN_ARTIFACT")-$v.$f" "$dst/"
      sha1sum "$dst/$(basename "$MIRROR_MAVEN_ARTIFACT")-$v.$f" | cut -d' ' -f1 >"$dst/$(basename "$MIRROR_MAVEN_ARTIFACT")-$v.$f.sha1"
    done
    log "test Maven mirror: $MIRROR_MAVEN_ARTIFACT $v"
  fi
}

# start_http <label> <folder> <port>: python3's static file server on 127.0.0.1, one log line per request.
start_http() {
  local label=$1 folder=$2 port=$3 dir=$STATE/$1
  mkdir -p "$dir" "$folder"
  if alive "$dir/http.pid"; then log "$label already serving on 127.0.0.1:$port"; return; fi
  log "serving $folder on 127.0.0.1:$port ($label)"
  (cd "$folder" && exec setsid python3 -u -m http.server "$port" --bind 127.0.0.1) >"$dir/requests.log" 2>&1 </dev/null &
  echo $! >"$dir/http.pid"
  local i
  for i in $(seq 1 40); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return
    sleep 0.25
  done
  log "$label did not come up on port $port; see $dir/requests.log"; exit 1
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
  export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0 DOCKER_CONFIG=$STATE/docker-config
  # On a fresh machine each debootstrap below downloads and unpacks for a minute or more, mostly waiting for the
  # mirror and the disk: the ones the registry lacks are made at once in the background while busybox is built, and
  # imported in order below once all have ended (a failed one is tried again there, and reported there).
  local prefetch=()
  want_base base/debian-jre-tools 12 bookworm "$JRE_TOOLS_PACKAGES" \
    && { debootstrap_tarball base/debian-jre-tools 12 bookworm "$JRE_TOOLS_PACKAGES" & prefetch+=($!); }
  want_dockerd_base && want_base base/debian-dockerd 13 trixie "$DOCKERD_BASE_PACKAGES" \
    && { debootstrap_tarball base/debian-dockerd 13 trixie "$DOCKERD_BASE_PACKAGES" & prefetch+=($!); }
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
  # The gateway's own image (Dockerfile.gateway) runs on a JRE from Debian's packages, with the two programs the
  # gateway runs itself: oscap (openscap-scanner, the compliance scan) and shellcheck (the optional lint pass).
  # Builds have no network, so apt cannot run inside one: they are part of an approved base made here, like
  # base/debian:12, by debootstrap (minbase plus these packages and their dependencies, ca-certificates-java
  # configured in the chroot).
  for job in "${prefetch[@]}"; do wait "$job" || true; done
  import_debootstrap base/debian-jre-tools 12 bookworm "$JRE_TOOLS_PACKAGES"
  # The build host image (Dockerfile.buildhost): Debian 13's dockerd 26 (the daemon of issue #13) with its own
  # runc, containerd and the uidmap tools for --userns-remap, as an approved base (~300 MB, cached like the others).
  # make test runs that image as a build host (BuildHostImageIT); `make run` makes it only when asked
  # (BGW_BUILDHOST_BASE=1), and BGW_BUILDHOST_BASE=0 skips it for test too. When debootstrap cannot make it (no
  # trixie on the mirror), the environment still comes up and the tests that need it fail saying so (BGW_BUILDHOST_BASE=0
  # skips them deliberately).
  if want_dockerd_base; then
    import_debootstrap base/debian-dockerd 13 trixie "$DOCKERD_BASE_PACKAGES" \
      || log "base/debian-dockerd:13 could not be made (see $STATE/debootstrap-base-debian-dockerd.log): BuildHostImageIT will fail (BGW_BUILDHOST_BASE=0 skips it)"
  fi
}

JRE_TOOLS_PACKAGES=openjdk-17-jre-headless,openscap-scanner,shellcheck
# iptables (iptables-nft, ebtables-nft), iproute2 and socat: the egress path the build host image's entrypoint sets up
# when BGW_EGRESS_PROXY is set (buildhost/entrypoint.sh, docs/egress.md "Helm build hosts").
DOCKERD_BASE_PACKAGES=docker.io,docker-cli,containerd,runc,uidmap,ca-certificates,tini,iptables,iproute2,socat
# The build host image's base is made for the test environment, or when BGW_BUILDHOST_BASE=1 (0 skips it for test).
want_dockerd_base() {
  local want=0
  [ "$NAME" = test ] && want=1
  [ "${BGW_BUILDHOST_BASE:-$want}" = 1 ]
}
# want_base <repository> <tag> <suite> <packages,...>: true when the registry lacks that recipe's image.
want_base() { ! registry_has "$1" "$2-r$(recipe_hash "$3" "$4")"; }

# import_debootstrap <repository> <tag> <suite> <packages,...>: a minbase of <suite> with the packages, cached as a
# tarball in $CACHE, imported and pushed as <registry>/<repository>:<tag> unless the registry has it.
# Both are named by a hash of the recipe (suite, variant, package list, the cleanup below: recipe_hash), so that a
# changed recipe is made again on a machine that has an older one (the tarball <repo>-<tag>-<hash>-minbase.tar, the
# registry tag <tag>-r<hash> pushed next to <tag>), and an unchanged one is not.
IMPORT_RECIPE_VERSION=1
recipe_hash() { printf '%s|' "$IMPORT_RECIPE_VERSION" minbase "$@" | sha256sum | cut -c1-12; }
import_debootstrap() {
  local repo=$1 tag=$2 suite=$3 include=$4 recipe
  recipe=$(recipe_hash "$suite" "$include")
  registry_has "$repo" "$tag-r$recipe" && return 0
  debootstrap_tarball "$@" || return 1
  local tarball=$CACHE/${repo//\//-}-$tag-$recipe-minbase.tar
  log "importing $repo:$tag (recipe $recipe)"
  docker import "$tarball" "$REGISTRY/$repo:$tag" >/dev/null
  docker tag "$REGISTRY/$repo:$tag" "$REGISTRY/$repo:$tag-r$recipe"
  docker push -q "$REGISTRY/$repo:$tag" >/dev/null
  docker push -q "$REGISTRY/$repo:$tag-r$recipe" >/dev/null
}

# debootstrap_tarball <repository> <tag> <suite> <packages,...>: import_debootstrap's tarball in $CACHE, made unless
# it is there (so build_bases can make several at once in the background and import them in order afterwards).
debootstrap_tarball() {
  local repo=$1 tag=$2 suite=$3 include=$4 recipe
  recipe=$(recipe_hash "$suite" "$include")
  mkdir -p "$CACHE"
  local tarball=$CACHE/${repo//\//-}-$tag-$recipe-minbase.tar
  if [ ! -s "$tarball" ]; then
    log "debootstrap $suite minbase with $include (a few minutes)"
    local mirror rootfs
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d)
    if ! debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" \
      >"$STATE/debootstrap-${repo//\//-}.log" 2>&1; then
      rm -rf "$rootfs"; log "debootstrap of $repo:$tag failed; see $STATE/debootstrap-${repo//\//-}.log"; return 1
    fi
    # Package lists and apt caches are not part of an image.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # A temporary name of this process's own: environments of several worktrees share the cache.
    tar -C "$rootfs" -cf "$tarball.tmp.$BASHPID" . && mv "$tarball.tmp.$BASHPID" "$tarball"
    rm -rf "$rootfs"
  fi
}

up() {
  install_packages
  install_daemon
  mkdir -p "$STATE"
  start_registry
  token_keys
  start_token_registry
  docker_config
  start_netns
  start_isolation
  start_forwarder
  start_egress_forwarder
  local sock plain=""
  sock=$(start_dockerd host1 true "$NETNS")
  build_bases "$sock"
  if [ "$PLAIN" = true ]; then plain=$(start_dockerd plain false); fi
  # The test environment's old host: Debian 12's dockerd 20.10 with user namespaces, which health must refuse for
  # BuildKit builds (it runs no builds: no network namespace needed).
  local old=""
  if [ "$NAME" = test ] && [ -x "$OLD_DOCKER/usr/sbin/dockerd" ]; then
    old=$(PATH="$OLD_DOCKER/usr/sbin:$OLD_DOCKER/usr/bin:$PATH" DOCKERD="$OLD_DOCKER/usr/sbin/dockerd" start_dockerd old true)
  fi
  if [ "$NAME" = test ]; then
    build_mirrors
    start_http mirror "$CACHE/egress-mirror" "$MIRROR_PORT"
    mkdir -p "$STATE/canary/www"
    start_http canary "$STATE/canary/www" "$CANARY_PORT"
  fi
  cat >"$STATE/env.sh" <<ENV
export BGW_STATE=$STATE
export BGW_REGISTRY=$REGISTRY
export BGW_DOCKER_HOST=unix://$sock
export BGW_PLAIN_DOCKER_HOST=${plain:+unix://$plain}
export BGW_OLD_DOCKER_HOST=${old:+unix://$old}
export BGW_DOCKER_CONFIG=$STATE/docker-config
export BGW_NETNS=$NETNS
export BGW_TOKEN_SOCKET=$TOKEN_SOCKET
export BGW_TOKEN_KEY=$TOKEN_DIR/key.pem
export BGW_TOKEN_CERT=$TOKEN_DIR/cert.pem
export BGW_TOKEN_SERVICE=$TOKEN_SERVICE
export BGW_TOKEN_ISSUER=$TOKEN_ISSUER
export BGW_EGRESS_PORT=$EGRESS_PORT
export BGW_EGRESS_PORT_FILE=$STATE/egress-port
export BGW_EGRESS_STEP_ADDRESS=$EGRESS_GATEWAY_IP:$EGRESS_PORT
export BGW_EGRESS_ISOLATION="ebtables-nft -t filter FORWARD $ISOLATION_RULE"
export BGW_MIRROR_URL=${MIRROR_PORT:+http://127.0.0.1:$MIRROR_PORT}
export BGW_CANARY_URL=${CANARY_PORT:+http://127.0.0.1:$CANARY_PORT}
export BGW_CANARY_LOG=$STATE/canary/requests.log
ENV
  log "environment ready: registry $REGISTRY, build host unix://$sock (network namespace $NETNS)${plain:+, plain daemon unix://$plain}"
}

# stop_dockerd <dir> <label>: the keeper first (else it starts the daemon again), which stops its daemon; then the
# daemon itself, for one started without a keeper or left behind.
stop_dockerd() {
  stop_pid "$1/keeper.pid" "the keeper of dockerd $2"
  stop_pid "$1/docker.pid" "dockerd $2"
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
  for d in "$STATE"/host1 "$STATE"/plain "$STATE"/old; do [ -d "$d" ] && stop_dockerd "$d" "$(basename "$d")"; done
  stop_pid "$STATE/host1/forwarder.pid" forwarder
  stop_pid "$STATE/host1/egress-forwarder.pid" "egress forwarder"
  stop_pid "$STATE/host1/egress-relay.pid" "egress relay"
  rm -f "$STATE/egress-port"
  rm -f "$EGRESS_SOCKET"
  stop_pid "$STATE/mirror/http.pid" "test mirror"
  stop_pid "$STATE/canary/http.pid" "canary server"
  stop_pid "$STATE/registry/token-registry.pid" "token registry"
  rm -f "$TOKEN_SOCKET"
  stop_pid "$STATE/registry/registry.pid" registry
  if ip netns list | grep -q "^$NETNS\b"; then log "removing network namespace $NETNS"; ip netns del "$NETNS"; fi
  return 0
}

case $CMD in
  install) install_packages; install_daemon ;;
  up) up ;;
  down) down ;;
  *) echo "usage: env.sh install|up|down <name> [--plain-host]" >&2; exit 2 ;;
esac
