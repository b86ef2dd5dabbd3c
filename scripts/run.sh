#!/usr/bin/env bash
# make run: a complete local gateway. Idempotent: a second run finds everything up and says so.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STATE=$ROOT/.state/run
PORT=${GATEWAY_PORT:-8080}
# The Docker Engine API (docker build against the gateway; docs/docker-cli.md): plain HTTP on loopback only.
DOCKER_API_PORT=${GATEWAY_DOCKER_API_PORT:-2375}

scripts/env.sh up run
# shellcheck disable=SC1091
source "$STATE/env.sh"

if [ -f "$STATE/gateway.pid" ] && kill -0 "$(cat "$STATE/gateway.pid")" 2>/dev/null; then
  echo "Build Gateway is already running on http://localhost:$PORT (pid $(cat "$STATE/gateway.pid")); 'make stop' stops it."
  exit 0
fi

JAR=target/build-gateway-0.1.0-SNAPSHOT.jar
if [ ! -f "$JAR" ] || [ -n "$(find src db pom.xml -newer "$JAR" -type f -print -quit)" ]; then
  echo "[run] building the gateway (mvn package)" >&2
  mvn -q -B -DskipTests package >"$STATE/mvn-package.log" 2>&1 || { tail -40 "$STATE/mvn-package.log" >&2; exit 1; }
fi

# The bootstrap admin token: GATEWAY_BOOTSTRAP_TOKEN if set; otherwise one generated once, kept (0600) in
# .state/run/admin-token and shown on this terminal once. It is never written to the gateway's log.
SHOW_TOKEN=false
# Everything written from here on (every team's contexts and build logs, the signing key, the gateway's own
# files) is root's only, whether or not the token below is generated.
umask 077
if [ -z "${GATEWAY_BOOTSTRAP_TOKEN:-}" ]; then
  if [ ! -s "$STATE/admin-token" ]; then
    printf 'bgw_%s' "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" >"$STATE/admin-token"
    SHOW_TOKEN=true
  fi
  GATEWAY_BOOTSTRAP_TOKEN=$(cat "$STATE/admin-token")
fi
export GATEWAY_BOOTSTRAP_TOKEN

# Image filesystems are extracted for OpenSCAP on every build: in memory (tmpfs) when the machine has one.
SCAN_DIR=$STATE/data/scans
LAYER_CACHE=10GB
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SCAN_DIR=/dev/shm/build-gateway-scans
  # tmpfs is memory (half of it by default): the extracted layers kept there get a quarter of the machine's memory.
  LAYER_CACHE=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 4 / 1024 ))MB
fi
cat >"$STATE/gateway.yaml" <<YML
gateway:
  data-dir: $STATE/data
  # The embedded PostgreSQL asks every connection for a password (kept in data/postgres-credentials, 0600): zonky's
  # cluster would otherwise trust any local account (docs/operations.md, "The embedded database").
  database:
    embedded-passwords: true
  docker-api:
    enabled: true
    port: $DOCKER_API_PORT
    address: 127.0.0.1
  scanning:
    work-dir: $SCAN_DIR
    layer-cache-size: $LAYER_CACHE
  policy:
    approved-base-prefixes: [ "$BGW_REGISTRY/base/" ]
  # Controlled egress (docs/egress.md): the proxy listens where env.sh's relay leads (127.0.0.1:<egress port>);
  # host1's steps reach it at the bridge address of its network namespace. Builds get network only for teams
  # with an egress: allowlist in config/policy/.
  egress:
    listen: 127.0.0.1:$BGW_EGRESS_PORT
  hostpool:
    registry:
      address: $BGW_REGISTRY
      tokens:
        key-path: $BGW_TOKEN_KEY
        certificate-path: $BGW_TOKEN_CERT
        issuer: $BGW_TOKEN_ISSUER
        service: $BGW_TOKEN_SERVICE
    hosts:
      - name: host1
        endpoint: $BGW_DOCKER_HOST
        capacity: 2
        build-cache-max: 8GB
        egress-address: $BGW_EGRESS_STEP_ADDRESS
YML
# The relay reads the proxy's port from this file when a test gateway wrote one; make run's is the fixed port.
rm -f "$BGW_EGRESS_PORT_FILE"

echo "[run] starting the gateway on :$PORT (log: $STATE/gateway.log)" >&2
# The JIT options: docs/operations.md, "JIT compilation on few cores" (the same in Dockerfile.gateway and bench/gateway.sh)
GATEWAY_PORT=$PORT setsid java -XX:Tier3DelayOn=1000000 -XX:Tier4InvocationThreshold=15000 \
  -XX:Tier4MinInvocationThreshold=1800 -XX:Tier4CompileThreshold=45000 -XX:Tier4BackEdgeThreshold=120000 \
  -Xmx512m -jar "$JAR" --spring.config.additional-location="file:$STATE/gateway.yaml" \
  >"$STATE/gateway.log" 2>&1 </dev/null &
echo $! >"$STATE/gateway.pid"

# Readiness also waits for the start's warm-up (gateway.warmup.max-duration, 60 s: docs/operations.md).
for _ in $(seq 1 480); do
  if curl -sf "http://localhost:$PORT/actuator/health/readiness" >/dev/null 2>&1; then
    echo
    echo "Build Gateway is up on http://localhost:$PORT (registry $BGW_REGISTRY, build host $BGW_DOCKER_HOST)."
    echo "docker build through it: DOCKER_HOST=tcp://127.0.0.1:$DOCKER_API_PORT DOCKER_BUILDKIT=0 (docs/docker-cli.md)."
    echo "Egress proxy on 127.0.0.1:$BGW_EGRESS_PORT, steps reach it at $BGW_EGRESS_STEP_ADDRESS: teams with an egress: allowlist in config/policy/ (docs/egress.md)."
    if [ "$SHOW_TOKEN" = true ]; then
      echo "Admin token (shown once; also in $STATE/admin-token, mode 0600):"
      echo "  $GATEWAY_BOOTSTRAP_TOKEN"
    else
      echo "Admin token: \$GATEWAY_BOOTSTRAP_TOKEN or $STATE/admin-token"
    fi
    echo "'make stop' stops the gateway, the build host and the registry."
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE/gateway.pid")" 2>/dev/null; then
    echo "[run] the gateway exited; last lines of $STATE/gateway.log:" >&2
    tail -40 "$STATE/gateway.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "[run] the gateway did not become ready in 240 s; see $STATE/gateway.log" >&2
exit 1
