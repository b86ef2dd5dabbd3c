#!/usr/bin/env bash
# Benchmark: the inventory's questions on a realistic volume. Starts a throwaway PostgreSQL 17 (the project's own
# Maven-packaged binaries, run as root through `unshare -U`), applies the real migrations (db/migration, in order),
# loads synthetic data set-based (bench/inventory/load.sql: 100,000 images, 300 packages each = 30 million package
# rows, 20,000 advisories, 50,000 current deployments plus history) and then times, through the gateway's own
# classes (bench/inventory/InventoryBench.java calls ImageQueries, Deployments and Rebuilds on a JdbcClient):
#   - images by package below a version, by package, by CVE, by base digest (one page of 50, as GET
#     /api/v1/images serves it)
#   - stale deployments (GET /api/v1/deployments?stale=true, per environment, per team and all): a page of 100, as the
#     API serves it by default, and the whole list page by page (1,000 each, the API's most)
#   - a rebuild dry-run by a base digest shared by 10,000 images
# warm, 20+ runs each with varied parameters: p50 / p95 / max, the statements each question sent, the ratio of p95
# to the target (100 ms; 2 s for the dry-run) and of p50 to a primary-key lookup measured in the same run, and the
# EXPLAIN (ANALYZE, BUFFERS) plan of every distinct statement.
#
#   bench/inventory.sh                       (as root; ~10 minutes on 2 cores)
#   IMAGES=10000 bench/inventory.sh          (smaller: packages, deployments and advisories scale with IMAGES)
#   BENCH_SKIP=V5 bench/inventory.sh         (leave out migrations whose file name contains V5: the "before" state)
#   BENCH_DIR=/dev/shm bench/inventory.sh    (data directory elsewhere; default /var/tmp, on disk)
#   BENCH_CLASSES=dir bench/inventory.sh     (classes put before target/classes: another build of the inventory
#                                             module, e.g. the previous commit's, to compare answers and times)
#   BENCH_ONLY=stale bench/inventory.sh      (only the questions whose name contains the text, and the baseline)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
IMAGES=${IMAGES:-100000}
PKGS=${PKGS:-300}
ADVISORIES=${ADVISORIES:-$((IMAGES / 5))}
DEPLOYMENTS=${DEPLOYMENTS:-$((IMAGES / 2))}
PORT=${BENCH_PG_PORT:-55437}
SKIP=${BENCH_SKIP:-}

WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/bgw-inventory-bench.XXXXXX")
# shellcheck source=bench/pg.sh
source "$ROOT/bench/pg.sh"
PG_PID=""
cleanup() {
  pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[inventory-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pg_tools
bench_compile bench/inventory/InventoryBench.java
# Durability is off (a throwaway database: fsync, full-page writes, WAL only what crash safety of nothing needs);
# memory as a 24 GiB machine's database would have it; the planner's cost settings are the defaults.
pg_start -c max_connections=20 -c shared_buffers=4GB -c effective_cache_size=16GB -c maintenance_work_mem=2GB \
  -c max_wal_size=32GB -c checkpoint_timeout=1h -c fsync=off -c full_page_writes=off -c synchronous_commit=off \
  -c wal_level=minimal -c max_wal_senders=0 -c autovacuum=off -c max_parallel_maintenance_workers=2

# --- schema: the real migrations, in version order ---------------------------------------------------------------------
HELD=()
for m in "${MIGRATIONS[@]}"; do
  if [ -n "$SKIP" ] && [[ "$m" == *"$SKIP"* ]]; then HELD+=("$m"); continue; fi
  "${PSQL[@]}" -f "db/migration/$m"
  log "applied $m"
done

# --- load ---------------------------------------------------------------------------------------------------------------
# The secondary indexes of the two big tables are taken off while loading and built again afterwards from their
# own definitions (pg_indexes), which is several times faster than maintaining them row by row.
T_LOAD=$(now)
"${PSQL[@]}" -Atc "select indexdef from pg_indexes where tablename in ('image_package', 'image_vulnerability')
  and indexname not in (select conname from pg_constraint)" >"$WORK/indexes.sql"
"${PSQL[@]}" -Atc "select 'drop index ' || indexname || ';' from pg_indexes
  where tablename in ('image_package', 'image_vulnerability') and indexname not in (select conname from pg_constraint)" \
  | "${PSQL[@]}"
log "loading: $IMAGES images x $PKGS packages, $ADVISORIES advisories, $DEPLOYMENTS deployments"
"${PSQL[@]}" -v images="$IMAGES" -v pkgs="$PKGS" -v advisories="$ADVISORIES" -v deployments="$DEPLOYMENTS" \
  -f bench/inventory/load.sql
LOAD_OTHER_S=$(since "$T_LOAD")
T_PKG=$(now)
PARTS=$(nproc)
PIDS=()
for part in $(seq 0 $((PARTS - 1))); do
  "${PSQL[@]}" -v pkgs="$PKGS" -v parts="$PARTS" -v part="$part" -f bench/inventory/packages.sql &
  PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p"; done
# What ScanStore adds per scan (db/migration/V6: the versions installed per package name, with their row counts),
# here for the whole load at once. (Without V6 yet, BENCH_SKIP=V6, the migration's own backfill does it later.)
PACKAGES_S=$(since "$T_PKG")
if [ "$("${PSQL[@]}" -Atc "select to_regclass('package_version') is not null")" = t ]; then
  t=$(now)
  "${PSQL[@]}" -c "set work_mem = '1GB'" -c "insert into package_version (name, ecosystem, version, package_rows)
    select name, ecosystem, version, count(*) from (select name, ecosystem, version from image_package
      union all select advisory_name, ecosystem, version from image_package) p group by name, ecosystem, version"
  log "package_version: $("${PSQL[@]}" -Atc 'select count(*) from package_version') rows in $(since "$t") s"
fi
log "image_package: $((IMAGES * PKGS)) rows in $PACKAGES_S s ($PARTS sessions); the rest of the data in $LOAD_OTHER_S s"
T_IDX=$(now)
while read -r def; do
  t=$(now)
  "${PSQL[@]}" -c "set maintenance_work_mem = '2GB'; $def"
  log "index built in $(since "$t") s: $def"
done <"$WORK/indexes.sql"
INDEX_S=$(since "$T_IDX")
T_VAC=$(now)
"${PSQL[@]}" -c 'vacuum (analyze)' -c 'checkpoint'   # the load's dirty pages written out before anything is timed
VACUUM_S=$(since "$T_VAC")
LOAD_S=$(since "$T_LOAD")
log "loaded in $LOAD_S s: image_package $PACKAGES_S s, other tables $LOAD_OTHER_S s, index builds $INDEX_S s, vacuum + analyze + checkpoint $VACUUM_S s"
"${PSQL[@]}" -c "select relname as table, n_live_tup as rows, pg_size_pretty(pg_total_relation_size(relid)) as size
  from pg_stat_user_tables where schemaname = 'public' and n_live_tup > 0 order by pg_total_relation_size(relid) desc"

# --- questions ------------------------------------------------------------------------------------------------------------
run_bench() {
  java -Xmx2g -cp "${BENCH_CLASSES:+$BENCH_CLASSES:}$CP:$WORK/classes" io.buildgateway.inventory.InventoryBench \
    "jdbc:postgresql://127.0.0.1:$PORT/postgres" "$@"
}
echo
echo "== Inventory benchmark (PostgreSQL $(psql -qAtc 'show server_version'), $IMAGES images, load $LOAD_S s) =="
if [ ${#HELD[@]} -gt 0 ]; then
  echo "-- without ${HELD[*]}"
  run_bench
  for m in "${HELD[@]}"; do
    t=$(now)
    "${PSQL[@]}" -f "db/migration/$m"
    "${PSQL[@]}" -c 'analyze'
    log "applied $m in $(since "$t") s"
  done
  echo
  echo "-- with ${HELD[*]}"
fi
run_bench
