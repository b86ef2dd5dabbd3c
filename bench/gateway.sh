# Shared by the bench scripts (source it): the bench environment (its own registry :5002 and user-namespaced
# daemon; BENCH_REGISTRY_PORT moves it), gateways from the packaged jar with their data under $STATE (.state/bench
# unless BENCH_STATE says otherwise), and cleanup on exit.
#   bench_up [extra yaml under gateway:]   — one gateway on $PORT: bench_env, bench_gateway gateway, bench_ready
#   bench_env [env.sh]                     — sources that env.sh (an environment already up), or starts the bench
#                                            environment (stopped on exit); sets BGW_*, JAR (packaging the tree)
#   bench_gateway <name> <port> <yaml> [--key=value …]
#                                          — starts one gateway JVM (log $STATE/<name>.log and its config
#                                            $STATE/<name>.yaml, kept so that a replica bench/chaos.d killed can be
#                                            started again as it was; stopped on exit) with the
#                                            common settings, <yaml> under gateway: and the arguments; sets GW_PID and
#                                            adds it to GW_PIDS; BENCH_HOSTS_YAML replaces the one-host list,
#                                            BENCH_JAVA_OPTS the -Xmx1g
#   bench_ready <port> <pid>               — waits for readiness (BENCH_READY_POLLS half-seconds), exits if it dies
# BENCH_JAR: run this jar instead of packaging the working tree (A/B runs against another commit's jar);
# BGW_REGISTRY_PORT: the bench registry's port (default 5002), for machines shared by several environments;
# BENCH_KEEP=1: leave the gateways and the environment running at exit (bench/chaos.sh drives a kept load).
# BENCH_JIT_OPTS: the JIT options every start of the gateway uses (Dockerfile.gateway, scripts/run.sh; why:
# docs/operations.md, "JIT compilation on few cores"); set it empty to run a jar with the JVM's defaults (an A/B
# against a commit from before them).
JIT_DEFAULT="-XX:Tier3DelayOn=1000000 -XX:Tier4InvocationThreshold=15000 -XX:Tier4MinInvocationThreshold=1800"
JIT_DEFAULT+=" -XX:Tier4CompileThreshold=45000 -XX:Tier4BackEdgeThreshold=120000"
BENCH_JIT_OPTS=${BENCH_JIT_OPTS-$JIT_DEFAULT}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STATE=${BENCH_STATE:-$ROOT/.state/bench}
mkdir -p "$STATE"
WORK=$(mktemp -d)
GW_PID=""
GW_PIDS=()
BENCH_OWN_ENV=""
BENCH_CLEANUP_HOOK=${BENCH_CLEANUP_HOOK:-}
bench_cleanup() {
  local p
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    for p in ${GW_PIDS[@]+"${GW_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
    for p in ${GW_PIDS[@]+"${GW_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
    if [ -n "$BENCH_CLEANUP_HOOK" ]; then "$BENCH_CLEANUP_HOOK" || true; fi
    if [ -n "$BENCH_OWN_ENV" ]; then scripts/env.sh down bench >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

# shellcheck disable=SC2120 # load.sh passes an env.sh
bench_env() {
  if [ -n "${1:-}" ]; then
    # shellcheck disable=SC1090
    source "$1"
  else
    BENCH_OWN_ENV=1
    BGW_REGISTRY_PORT=${BENCH_REGISTRY_PORT:-${BGW_REGISTRY_PORT:-5002}} scripts/env.sh up bench
    # shellcheck disable=SC1091
    source "$ROOT/.state/bench/env.sh"
  fi
  JAR=${BENCH_JAR:-target/build-gateway-0.1.0-SNAPSHOT.jar}
  [ -n "${BENCH_JAR:-}" ] || [ "${BENCH_SKIP_PACKAGE:-0}" = 1 ] || mvn -q -B -DskipTests package
  ADMIN=${BENCH_ADMIN:-"bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"}
}

bench_gateway() {
  local name=$1 port=$2 extra=${3:-}
  shift 3
  cat >"$STATE/$name.yaml" <<YML
gateway:
  data-dir: $STATE/data
  scanning:
    work-dir: /dev/shm/build-gateway-bench-scans-$name
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
${BENCH_HOSTS_YAML:-    hosts:
      - name: bench
        endpoint: $BGW_DOCKER_HOST
        capacity: 1}
  builds:
    dispatch-interval: 100ms
$extra
YML
  # shellcheck disable=SC2086
  GATEWAY_BOOTSTRAP_TOKEN=$ADMIN GATEWAY_PORT=$port java $BENCH_JIT_OPTS ${BENCH_JAVA_OPTS:--Xmx1g} -jar "$JAR" \
    --spring.config.additional-location="file:$STATE/$name.yaml" "$@" >"$STATE/$name.log" 2>&1 </dev/null &
  GW_PID=$!
  GW_PIDS+=("$GW_PID")
}

bench_ready() {
  local port=$1 pid=$2
  # BENCH_READY_POLLS: half-seconds to wait for readiness (a loaded machine starts the JVM slowly)
  for _ in $(seq 1 "${BENCH_READY_POLLS:-1200}"); do
    curl -sf "localhost:$port/actuator/health/readiness" >/dev/null && return
    kill -0 "$pid" 2>/dev/null || { echo "the gateway on :$port exited; see its log under $STATE" >&2; exit 1; }
    sleep 0.5
  done
  echo "the gateway on :$port did not become ready; see its log under $STATE" >&2
  exit 1
}

bench_up() {
  bench_env
  rm -rf "$STATE/data"
  bench_gateway gateway "$PORT" "${1:-}"
  bench_ready "$PORT" "$GW_PID"
}

# A token with these roles and teams (JSON arrays), issued by the bootstrap admin.
bench_token() {
  curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "localhost:$PORT/api/v1/tokens" \
    -d "{\"name\":\"bench-$RANDOM\",\"roles\":$1,\"teams\":$2}" | jq -r .token
}
