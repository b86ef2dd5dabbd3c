#!/usr/bin/env bash
# Benchmark: the audit trail. Starts a throwaway PostgreSQL 17 (the project's own Maven-packaged binaries, run as root
# through `unshare -U`) with its durability settings at their defaults (fsync on, synchronous_commit on), applies the
# real migrations (db/migration, in order) and times, through the gateway's own classes (bench/audit/AuditBench.java):
#   - appends: AuditTrail.append, one transaction per event, 1 and 8 threads, connected as a least-privilege login in
#     build_gateway_app; baseline: a plain INSERT of the same row (no lock, no head, no hash) into a copy of the
#     table, also one transaction per row, alternating rounds. Run twice: as configured (every commit waits for the
#     disk) and with synchronous_commit=off (a commit does not wait for its WAL flush: the cost of the append itself).
#   - verify over EVENTS (default 1,000,000) chained events: AuditVerification.verify (the verify endpoint's work:
#     stream, hash, compare with the signed checkpoints) in a JVM with a 64 MiB heap; baseline: streaming the same
#     rows into the same objects without hashing.
# Targets (issue #6): >= 2,000 appends/s, verify >= 200,000 events/s. The disk's latency for one synchronous 8 KiB
# write is printed too: every durable commit pays it, inside the chain's lock.
#
#   bench/audit.sh                       (as root; ~5 minutes on 2 cores)
#   EVENTS=200000 bench/audit.sh         (a smaller chain for the verify part)
#   BENCH_DIR=/dev/shm bench/audit.sh    (data directory in memory; default /var/tmp, on disk)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
EVENTS=${EVENTS:-1000000}
PORT=${BENCH_PG_PORT:-55439}
VERIFY_HEAP=${VERIFY_HEAP:-64m}

WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/bgw-audit-bench.XXXXXX")
# shellcheck source=bench/pg.sh
source "$ROOT/bench/pg.sh"
PG_PID=""
cleanup() {
  pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[audit-bench %s] %s\n' "$(date +%T)" "$*" >&2; }

pg_tools
bench_compile bench/audit/AuditBench.java
# Durability as PostgreSQL ships it (fsync, full-page writes, synchronous_commit on); memory and WAL sized so that no
# checkpoint is forced in the middle of a measurement.
pg_start -c max_connections=40 -c shared_buffers=2GB -c effective_cache_size=8GB -c maintenance_work_mem=1GB \
  -c max_wal_size=16GB -c checkpoint_timeout=1h

# --- schema: the real migrations, in version order; the baseline's table; a least-privilege login ---------------------
for m in "${MIGRATIONS[@]}"; do
  "${PSQL[@]}" -f "db/migration/$m"
  log "applied $m"
done
"${PSQL[@]}" <<'SQL'
create table audit_event_plain (like audit_event including defaults including indexes);
create sequence audit_event_plain_seq;
grant select, insert on audit_event_plain to build_gateway_app;
grant usage on sequence audit_event_plain_seq to build_gateway_app;
create role bgw_bench login in role build_gateway_app;
SQL

run_bench() {
  local heap=$1 user=$2; shift 2
  java "-Xmx$heap" -cp "$CP:$WORK/classes" io.buildgateway.audit.AuditBench \
    "jdbc:postgresql://127.0.0.1:$PORT/postgres" "$user" "$@"
}

DSYNC=$( { dd if=/dev/zero of="$WORK/data/dsync-probe" bs=8k count=300 oflag=dsync 2>&1 >/dev/null || true; } \
  | awk '/copied/ { printf "%.2f", $(NF-3) / 300 * 1000 }')
rm -f "$WORK/data/dsync-probe"

echo
echo "== Audit trail benchmark (PostgreSQL $(psql -qAtc 'show server_version'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) =="
echo "disk: ${DSYNC:-?} ms per synchronous 8 KiB write (dd oflag=dsync in the data directory)"
run_bench 1g bgw_bench append "synchronous_commit=on (the default: every commit waits for its WAL flush)"
"${PSQL[@]}" -c "alter system set synchronous_commit = off" -c "select pg_reload_conf()" >/dev/null
run_bench 1g bgw_bench append "synchronous_commit=off (commits do not wait for the disk)"
"${PSQL[@]}" -c "alter system reset synchronous_commit" -c "select pg_reload_conf()" >/dev/null

log "loading $EVENTS chained events"
run_bench 2g postgres load "$EVENTS"
"${PSQL[@]}" -c 'vacuum (analyze) audit_event' -c 'checkpoint'
"${PSQL[@]}" -c "select pg_size_pretty(pg_total_relation_size('audit_event')) as audit_event_size"
run_bench "$VERIFY_HEAP" bgw_bench verify
