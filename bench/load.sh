#!/usr/bin/env bash
# bench/load.sh — issue #17 "Load": a gateway from the packaged jar on loopback, LOAD_CLIENTS concurrent clients
# (default 200; one token each) of which LOAD_BUILDS (default 30) submit one small build each — all but one from a
# team that floods ("flood", over its queue quota, so it gets 429 with Retry-After and waits as told), one from a
# team with a single build ("quiet") — follow their logs and poll the status until final; the other clients poll the
# status of the flood's builds every 250 ms. Bounded: every loop ends by count or at LOAD_DEADLINE_SECONDS.
# Prints the table of docs/benchmarks.md ("Load"). Defaults finish in a few minutes on a small VM.
#
#   bench/load.sh                          # its own environment (scripts/env.sh up bench, registry BGW_REGISTRY_PORT)
#   LOAD_ENV=.state/test/env.sh bench/load.sh   # an environment already up (its env.sh)
#   LOAD_CLIENTS=200 LOAD_BUILDS=500 LOAD_TEAM_QUOTA=20 bench/load.sh   # the issue's numbers, on a big machine
# Also: LOAD_HOST_CAPACITY (builds at once on the host, default 2), LOAD_PORT (default 18090), LOAD_KEEP=1 (leave
# the gateway running; chaos.sh uses it), BENCH_JAR (a jar to run instead of packaging the tree).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LOAD_CLIENTS=${LOAD_CLIENTS:-200} LOAD_BUILDS=${LOAD_BUILDS:-30} LOAD_TEAM_QUOTA=${LOAD_TEAM_QUOTA:-10}
export LOAD_DEADLINE_SECONDS=${LOAD_DEADLINE_SECONDS:-600}
PORT=${LOAD_PORT:-18090}
STATE=$ROOT/.state/load
mkdir -p "$STATE"
WORK=$(mktemp -d)
GW_PID=""
OWN_ENV=""
cleanup() {
  if [ -n "$GW_PID" ] && [ "${LOAD_KEEP:-0}" != 1 ]; then kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null || true; fi
  if [ -n "$OWN_ENV" ] && [ "${LOAD_KEEP:-0}" != 1 ]; then scripts/env.sh down bench >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${LOAD_ENV:-}" ]; then
  # shellcheck disable=SC1090
  source "$LOAD_ENV"
else
  BGW_REGISTRY_PORT=${BGW_REGISTRY_PORT:-5002} scripts/env.sh up bench
  OWN_ENV=1
  # shellcheck disable=SC1091
  source .state/bench/env.sh
fi
JAR=${BENCH_JAR:-target/build-gateway-0.1.0-SNAPSHOT.jar}
[ -n "${BENCH_JAR:-}" ] || [ -f "$JAR" ] || mvn -q -B -DskipTests package
ADMIN="load-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
rm -rf "$STATE/data"
cat >"$WORK/gateway.yaml" <<YML
gateway:
  data-dir: $STATE/data
  scanning:
    work-dir: /dev/shm/build-gateway-load-scans
  policy:
    approved-base-prefixes: [ "$BGW_REGISTRY/base/" ]
  hostpool:
    registry:
      address: $BGW_REGISTRY
      tokens:
        key-path: $BGW_TOKEN_KEY
        certificate-path: $BGW_TOKEN_CERT
        issuer: $BGW_TOKEN_ISSUER
        service: $BGW_TOKEN_SERVICE
    # scripts/env.sh starts one user-namespaced build host per environment (the plain and old daemons are refused
    # for builds by design); more hosts need more environments' daemons listed here.
    hosts:
      - name: load-1
        endpoint: $BGW_DOCKER_HOST
        capacity: ${LOAD_HOST_CAPACITY:-2}
  builds:
    dispatch-interval: 100ms
    max-queued: 1000
    max-queued-per-team: $LOAD_TEAM_QUOTA
    retry-after: 2s
    follow:
      max-total: $((LOAD_CLIENTS + 16))
  intake:
    store-dir: ${LOAD_STORE_DIR:-$STATE/data/contexts}
  web:
    refusal-limit:
      limit: 1000000
YML
GATEWAY_BOOTSTRAP_TOKEN=$ADMIN GATEWAY_PORT=$PORT java -Xmx1g -jar "$JAR" \
  --spring.config.additional-location="file:$WORK/gateway.yaml" >"$STATE/gateway.log" 2>&1 </dev/null &
GW_PID=$!
echo "$GW_PID" >"$STATE/gateway.pid"
for _ in $(seq 1 "${LOAD_READY_POLLS:-1200}"); do
  curl -sf "localhost:$PORT/actuator/health/readiness" >/dev/null && break
  kill -0 "$GW_PID" 2>/dev/null || { echo "the gateway exited; see $STATE/gateway.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf "localhost:$PORT/actuator/health/readiness" >/dev/null || { echo "not ready; see $STATE/gateway.log" >&2; exit 1; }
printf 'LOAD_BASE=http://127.0.0.1:%s\nLOAD_ADMIN=%s\n' "$PORT" "$ADMIN" >"$STATE/gateway.env"
chmod 0600 "$STATE/gateway.env"
echo "load: $LOAD_CLIENTS clients, $LOAD_BUILDS builds, team quota $LOAD_TEAM_QUOTA, host capacity ${LOAD_HOST_CAPACITY:-2}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_BASE=http://127.0.0.1:$PORT LOAD_ADMIN=$ADMIN LOAD_REGISTRY=$BGW_REGISTRY \
  java -Xmx512m bench/load/LoadClient.java
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
