# Shared by the bench scripts (source it): the bench environment (its own registry :5002 and user-namespaced
# daemon; BENCH_REGISTRY_PORT moves it), a gateway from the packaged jar on $PORT with its data under .state/bench, and cleanup on exit.
#   bench_up [extra yaml under gateway:]   — sets STATE, WORK, GW_PID, ADMIN, BGW_* and waits for readiness
# BENCH_JAR: run this jar instead of packaging the working tree (A/B runs against another commit's jar);
# BGW_REGISTRY_PORT: the bench registry's port (default 5002), for machines shared by several environments.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STATE=$ROOT/.state/bench
WORK=$(mktemp -d)
GW_PID=""
bench_cleanup() {
  [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  scripts/env.sh down bench >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

bench_up() {
  BGW_REGISTRY_PORT=${BENCH_REGISTRY_PORT:-${BGW_REGISTRY_PORT:-5002}} scripts/env.sh up bench
  # shellcheck disable=SC1091
  source "$STATE/env.sh"
  JAR=${BENCH_JAR:-target/build-gateway-0.1.0-SNAPSHOT.jar}
  [ -n "${BENCH_JAR:-}" ] || mvn -q -B -DskipTests package
  ADMIN="bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  rm -rf "$STATE/data"
  cat >"$WORK/gateway.yaml" <<YML
gateway:
  data-dir: $STATE/data
  scanning:
    work-dir: /dev/shm/build-gateway-bench-scans
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
    hosts:
      - name: bench
        endpoint: $BGW_DOCKER_HOST
        capacity: 1
  builds:
    dispatch-interval: 100ms
${1:-}
YML
  GATEWAY_BOOTSTRAP_TOKEN=$ADMIN GATEWAY_PORT=$PORT java -Xmx1g -jar "$JAR" \
    --spring.config.additional-location="file:$WORK/gateway.yaml" >"$STATE/gateway.log" 2>&1 </dev/null &
  GW_PID=$!
  # BENCH_READY_POLLS: half-seconds to wait for readiness (a loaded machine starts the JVM slowly)
  for _ in $(seq 1 "${BENCH_READY_POLLS:-1200}"); do
    curl -sf "localhost:$PORT/actuator/health/readiness" >/dev/null && return; sleep 0.5
  done
  echo "the gateway did not become ready; see $STATE/gateway.log" >&2
  exit 1
}

# A token with these roles and teams (JSON arrays), issued by the bootstrap admin.
bench_token() {
  curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "localhost:$PORT/api/v1/tokens" \
    -d "{\"name\":\"bench-$RANDOM\",\"roles\":$1,\"teams\":$2}" | jq -r .token
}
