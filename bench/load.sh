#!/usr/bin/env bash
# bench/load.sh — issue #17 "Load": LOAD_REPLICAS gateway replicas (default 2, from the packaged jar, on loopback)
# on one PostgreSQL (replica A's embedded one; the others connect to it as the least-privilege login and share the
# data folder: contexts, logs, signing key), LOAD_HOSTS build hosts (default 3: the environment's user-namespaced
# host and LOAD_HOSTS-1 more from scripts/buildhost.sh, each a dockerd 26 with userns-remap, its own data root and
# network namespace with the registry forwarder; stopped at exit), listed as fixed hosts on every replica.
# LOAD_CLIENTS concurrent clients (default 200; one token each; client i talks to replica i mod LOAD_REPLICAS) of
# up to LOAD_BUILDS submit LOAD_BUILDS small builds (default 30): one client of a team with a single build ("quiet"),
# the others of a team that floods ("flood", over its queue quota, so it gets 429 with Retry-After and waits as told),
# each flood client its share one after another; each follows its build's log and polls the status until final;
# clients without a build poll the status of the flood's builds every 250 ms. Bounded: every loop ends by count or at
# LOAD_DEADLINE_SECONDS. Then the table of docs/benchmarks.md ("Load"), lost and run-twice read from the database and
# the audit trail; exit 1 when either is not 0.
#
#   bench/load.sh                               # its own environment (scripts/env.sh up bench, BGW_REGISTRY_PORT)
#   LOAD_ENV=.state/test/env.sh bench/load.sh   # an environment already up (its env.sh)
#   LOAD_CLIENTS=200 LOAD_BUILDS=500 LOAD_DEADLINE_SECONDS=3600 bench/load.sh   # the issue's numbers
# Also: LOAD_HOST_CAPACITY (builds at once per host, default 1), LOAD_PORT (replica A; the others follow, default
# 18190), LOAD_PG_PORT (the embedded PostgreSQL, default LOAD_PORT+9), LOAD_XMX (per replica, default 512m),
# LOAD_JAVA_OPTS (more JVM options per replica, e.g. a GC to compare), LOAD_TIMINGS=1 (per-request timing lines in
# the replicas' logs, docs/operations.md "Logs"; bench/load/timings.py), LOAD_CPU=1 (CPU seconds per process group
# and per gateway thread group during the run, bench/load/cpu.py, sampled every LOAD_CPU_INTERVAL s), LOAD_KEEP=1 (leave replicas and hosts
# running, .state/load/stop.sh stops them; chaos.sh uses it), BENCH_JAR (a jar instead of packaging the tree),
# LOAD_HOSTS_NICE (the build hosts' daemons and the registry at that nice value for the run: below), LOAD_SPLIT_CPUS=1
# (the gateway side on one CPU, everything else on the others: below), LOAD_CLIENT_ON=hosts (with the split: the load
# client on the build hosts' CPUs, as CI runners are machines of their own: below), LOAD_PG_ON=hosts (with the
# split: PostgreSQL there too, as it is a server of its own in production: below), LOAD_POOL (database connections
# per replica, default 20), LOAD_WARM_BUILDS (a warm pass of that many builds before the measured one: below).
set -euo pipefail
export LOAD_CLIENTS=${LOAD_CLIENTS:-200} LOAD_BUILDS=${LOAD_BUILDS:-30} LOAD_TEAM_QUOTA=${LOAD_TEAM_QUOTA:-10}
export LOAD_DEADLINE_SECONDS=${LOAD_DEADLINE_SECONDS:-600}
REPLICAS=${LOAD_REPLICAS:-2}
HOSTS=${LOAD_HOSTS:-3}
CAPACITY=${LOAD_HOST_CAPACITY:-1}
PORT=${LOAD_PORT:-18190}
PG_PORT=${LOAD_PG_PORT:-$((PORT + 9))}
export BENCH_STATE
BENCH_STATE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.state/load
BENCH_KEEP=${LOAD_KEEP:-0}
BENCH_JAVA_OPTS="-Xmx${LOAD_XMX:-512m} ${LOAD_JAVA_OPTS:-}"
BENCH_CLEANUP_HOOK=load_hosts_down
# shellcheck source=bench/gateway.sh
source "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

# The extra build hosts: ids unique to this checkout (buildhost.sh's folders and namespaces are machine-wide).
HOST_PREFIX=load$(printf '%s' "$ROOT" | sha256sum | cut -c1-6)
export BGW_BUILDHOST_ROOT=$STATE/hosts
HOST_IDS=()
# shellcheck disable=SC2317 # called by bench_cleanup through BENCH_CLEANUP_HOOK
load_hosts_down() {
  local id t
  for id in ${HOST_IDS[@]+"${HOST_IDS[@]}"}; do scripts/buildhost.sh stop "$id" >/dev/null 2>&1 || true; done
  # what LOAD_HOSTS_NICE lowered (the environment's daemons outlive this run) goes back to the default priority
  for t in ${RENICED[@]+"${RENICED[@]}"}; do renice -n 0 -p "$t" >/dev/null 2>&1 || true; done
  # and what LOAD_SPLIT_CPUS pinned may run on every CPU again
  for p in ${SPLIT[@]+"${SPLIT[@]}"}; do taskset -a -p -c "0-$(($(nproc) - 1))" "$p" >/dev/null 2>&1 || true; done
}
RENICED=()
SPLIT=()

BENCH_ADMIN="load-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bench_env "${LOAD_ENV:-}"
rm -rf "$STATE/data"
mkdir -p "$STATE"

hosts_yaml="    hosts:
      - name: load-1
        endpoint: $BGW_DOCKER_HOST
        capacity: $CAPACITY"
for n in $(seq 2 "$HOSTS"); do
  id=$HOST_PREFIX-h$n
  scripts/buildhost.sh stop "$id" >/dev/null 2>&1 || true # a previous run's, if it was killed
  HOST_IDS+=("$id")
  endpoint=$(scripts/buildhost.sh start "$id")
  hosts_yaml+="
      - name: load-$n
        endpoint: $endpoint
        capacity: $CAPACITY"
done
export BENCH_HOSTS_YAML=$hosts_yaml

# Settings of every replica (command-line arguments override the common yaml of bench/gateway.sh).
common=(--gateway.builds.max-queued=1000 "--gateway.builds.max-queued-per-team=$LOAD_TEAM_QUOTA"
  --gateway.builds.retry-after=2s "--gateway.builds.follow.max-total=$((LOAD_CLIENTS + 16))"
  "--gateway.intake.store-dir=${LOAD_STORE_DIR:-$STATE/data/contexts}" --gateway.web.refusal-limit.limit=1000000)
# LOAD_TIMINGS=1: each request's timing line in the replicas' logs (bench/load/timings.py summarises them)
if [ "${LOAD_TIMINGS:-0}" = 1 ]; then common+=(--logging.level.io.buildgateway.timing=DEBUG); fi
# LOAD_POOL: database connections per replica (default 20: replica A's embedded pool; Hikari's own default is 10).
common+=("--spring.datasource.hikari.maximum-pool-size=${LOAD_POOL:-20}")
BASES=""
PIDS=()
for r in $(seq 1 "$REPLICAS"); do
  name=$(echo abcdefghij | cut -c"$r")
  port=$((PORT + r - 1))
  if [ "$r" = 1 ]; then
    bench_gateway gateway "$port" "" "${common[@]}" "--gateway.replica-name=load-a" \
      "--gateway.database.embedded-port=$PG_PORT"
    echo "$GW_PID" >"$STATE/gateway.pid"
    # The others need A's database (and A's migrations): they start once A is ready.
    bench_ready "$port" "$GW_PID"
  else
    bench_gateway "gateway-$name" "$port" "" "${common[@]}" "--gateway.replica-name=load-$name" \
      "--spring.datasource.url=jdbc:postgresql://127.0.0.1:$PG_PORT/postgres" \
      --spring.datasource.username=build_gateway --spring.datasource.password= \
      --spring.flyway.user=postgres --spring.flyway.password=
    echo "$GW_PID" >"$STATE/gateway-$name.pid"
  fi
  PIDS+=("$GW_PID")
  BASES+="${BASES:+,}http://127.0.0.1:$port"
done
for r in $(seq 2 "$REPLICAS"); do bench_ready "$((PORT + r - 1))" "${PIDS[$((r - 1))]}"; done
# LOAD_PG_PORT: bench/chaos.d's hooks read what a fault did from the database (psql as the owner, on loopback).
printf 'LOAD_BASE=http://127.0.0.1:%s\nLOAD_BASES=%s\nLOAD_ADMIN=%s\nLOAD_PG_PORT=%s\n' "$PORT" "$BASES" "$ADMIN" \
  "$PG_PORT" >"$STATE/gateway.env"
chmod 0600 "$STATE/gateway.env"
# With LOAD_KEEP=1 the caller stops what was started with this script (replicas, then the extra hosts).
{
  echo "#!/bin/sh"
  for p in "${PIDS[@]}"; do echo "kill $p 2>/dev/null"; done
  for id in ${HOST_IDS[@]+"${HOST_IDS[@]}"}; do
    echo "BGW_BUILDHOST_ROOT=$BGW_BUILDHOST_ROOT $ROOT/scripts/buildhost.sh stop $id"
  done
  if [ -n "$BENCH_OWN_ENV" ]; then echo "$ROOT/scripts/env.sh down bench"; fi
} >"$STATE/stop.sh"
chmod 0700 "$STATE/stop.sh"

# The client reads the database itself (lost, run twice, waits): PostgreSQL's JDBC driver from the gateway's jar.
unzip -q -o -j "$JAR" 'BOOT-INF/lib/postgresql-*.jar' -d "$WORK/pgjdbc"
# LOAD_HOSTS_NICE=n (off by default): every thread of the build hosts' daemons (dockerd, containerd, their shims),
# the registry and the registry forwarders at nice n for the run; what they start (runc, the build steps) inherits it.
# In production these are other machines; on this one they share the gateway's two cores, and the run then says how
# the gateway's own latency fares when they do not take the cores from it. The figures of a run with it are not
# comparable with one without: the table says which it was.
if [ -n "${LOAD_HOSTS_NICE:-}" ]; then
  for p in $(pgrep -x 'dockerd|containerd|containerd-shim-runc-v2|docker-registry|socat'); do
    for t in /proc/"$p"/task/*; do
      renice -n "$LOAD_HOSTS_NICE" -p "${t##*/}" >/dev/null 2>&1 && RENICED+=("${t##*/}")
    done
  done
  echo "load: build hosts' daemons, registry and forwarders at nice $LOAD_HOSTS_NICE (${#RENICED[@]} threads;" \
    "LOAD_HOSTS_NICE)"
fi
# LOAD_SPLIT_CPUS=1 (off by default): the production topology on one machine. The gateway side (the replicas with
# what they start, every PostgreSQL process, the load client) runs on the first CPU only; every other process of the
# machine (the build hosts' daemons, containerd, the registries, their forwarders, and all they start) on the others.
# In production the build hosts and the registry are machines of their own; here this keeps them off the gateway's
# core, and gives the gateway one core of the two, less than it has without the split. Each process's affinity goes
# back to every CPU at the end. Not comparable with a run without it: the table says which it was.
# LOAD_CLIENT_ON=hosts (with LOAD_SPLIT_CPUS=1) runs the load client on the build hosts' CPUs instead of the
# gateway's: in production the CI jobs that submit are machines of their own too, and on the gateway's one core the
# client's 200 threads, its JIT and its HTTP stack compete with the replicas for exactly the first seconds the
# submit p99 is made of. The default (gateway) keeps the earlier runs' topology.
# LOAD_PG_ON=hosts (with LOAD_SPLIT_CPUS=1) runs PostgreSQL on the build hosts' CPUs too: in production the database
# is a server of its own, and on the gateway's one core its backends wait behind the replicas' request threads.
# With LOAD_CLIENT_ON=hosts as well, the gateway's core holds the replicas alone. The default (gateway) keeps the
# earlier runs' topology.
GW_CPU=0
CLIENT_PIN=(env)
LOAD_CLIENT_ON=${LOAD_CLIENT_ON:-gateway}
case $LOAD_CLIENT_ON in gateway | hosts) ;; *) echo "LOAD_CLIENT_ON: gateway or hosts, not '$LOAD_CLIENT_ON'" >&2; exit 2 ;; esac
LOAD_PG_ON=${LOAD_PG_ON:-gateway}
case $LOAD_PG_ON in gateway | hosts) ;; *) echo "LOAD_PG_ON: gateway or hosts, not '$LOAD_PG_ON'" >&2; exit 2 ;; esac
if [ "${LOAD_SPLIT_CPUS:-0}" = 1 ]; then
  HOST_CPUS=1-$(($(nproc) - 1))
  if [ "$LOAD_CLIENT_ON" = hosts ]; then CLIENT_PIN=(taskset -c "$HOST_CPUS"); else CLIENT_PIN=(taskset -c "$GW_CPU"); fi
  mapfile -t gw_pids < <(printf '%s\n' "${PIDS[@]}"; [ "$LOAD_PG_ON" = hosts ] || pgrep -x postgres)
  gw_side=" ${gw_pids[*]} $$ "
  for p in $(ps -o pid= --ppid 2 -N | tr -d ' '); do # every process but the kernel's threads
    case "$gw_side" in *" $p "*) continue ;; esac
    case $p in 1 | 2) continue ;; esac
    taskset -a -p -c "$HOST_CPUS" "$p" >/dev/null 2>&1 && SPLIT+=("$p")
  done
  for p in "${gw_pids[@]}"; do taskset -a -p -c "$GW_CPU" "$p" >/dev/null 2>&1 && SPLIT+=("$p"); done
  echo "load: the gateway side (replicas$([ "$LOAD_PG_ON" = hosts ] || echo ", PostgreSQL")) on CPU $GW_CPU, every" \
    "other process (${#SPLIT[@]} in all) on CPU $HOST_CPUS (LOAD_SPLIT_CPUS); the load client on CPU" \
    "${CLIENT_PIN[2]} (LOAD_CLIENT_ON=$LOAD_CLIENT_ON), PostgreSQL on the $LOAD_PG_ON side (LOAD_PG_ON)"
fi
echo "load: $LOAD_CLIENTS clients, $LOAD_BUILDS builds, team quota $LOAD_TEAM_QUOTA, $REPLICAS replicas, $HOSTS hosts" \
  "× capacity $CAPACITY; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %T') UTC"
# LOAD_WARM_BUILDS=n (off by default): a warm pass first, the same client with n builds of teams of its own
# (warm-flood, warm-quiet), run to its end (every build final); then the measured pass on replicas whose JIT, pools
# and caches that pass has warmed. Its table goes to $STATE/warm.txt; the measured table counts only its own teams'
# builds. It answers what the targets would be on warm replicas, against the cold start a run measures otherwise.
# LOAD_TIMINGS' lines of the warm pass end before $STATE/measured-start (epoch seconds, for bench/load/timings.py
# --since).
# The load client against the replicas, pinned as LOAD_CLIENT_ON says (the caller's LOAD_* settings pass through).
load_client() {
  LOAD_BASES=$BASES LOAD_ADMIN=$ADMIN LOAD_REGISTRY=$BGW_REGISTRY \
    LOAD_JDBC_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/postgres" \
    "${CLIENT_PIN[@]}" java -Xmx512m -cp "$(echo "$WORK"/pgjdbc/*.jar)" bench/load/LoadClient.java
}
if [ "${LOAD_WARM_BUILDS:-0}" -gt 0 ]; then
  echo "load: warm pass: $LOAD_CLIENTS clients, $LOAD_WARM_BUILDS builds (teams warm-flood, warm-quiet; LOAD_WARM_BUILDS)"
  LOAD_BUILDS=$LOAD_WARM_BUILDS LOAD_TEAM_PREFIX=warm- load_client >"$STATE/warm.txt" 2>&1 \
    || echo "load: the warm pass ended with $? ($STATE/warm.txt)"
  grep -E "^(builds submitted|submit p50|status p50)" "$STATE/warm.txt" | sed 's/^/load: warm pass: /' || true
fi
date +%s.%N >"$STATE/measured-start"
rc=0
load_client &
client=$!
# LOAD_CPU=1: CPU seconds per process group and per gateway thread group while the client runs (bench/load/cpu.py)
if [ "${LOAD_CPU:-0}" = 1 ]; then
  named=(load-client=$client)
  for r in $(seq 1 "$REPLICAS"); do named+=("gateway-$(echo abcdefghij | cut -c"$r")=${PIDS[$((r - 1))]}"); done
  python3 bench/load/cpu.py "$STATE/cpu.txt" "$WORK/cpu.stop" "${LOAD_CPU_INTERVAL:-0.5}" "${named[@]}" &
  sampler=$!
fi
wait "$client" || rc=$?
if [ -n "${sampler:-}" ]; then
  touch "$WORK/cpu.stop"
  wait "$sampler" || true
  cat "$STATE/cpu.txt"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %T') UTC"
exit "$rc"
