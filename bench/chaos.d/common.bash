# shellcheck shell=bash
# Sourced by the hooks of bench/chaos.sh (it runs only the executable *.sh here). What a fault did is read from the
# database (psql as its owner on loopback, LOAD_PG_PORT from the load's gateway.env) and the audit trail, as
# bench/load.sh's table is.
set -Eeuo pipefail # -E: the ERR trap below also in functions
# A hook that stops on an error says where (bench/chaos.sh puts the last line of its stderr into the fault's line):
# one 2026-12-05 run printed only "hook failed", and a re-run did not fail again.
trap 'echo "line $LINENO: $BASH_COMMAND exited with $?" >&2' ERR
: "${LOAD_BASE:?}" "${LOAD_ADMIN:?}" "${CHAOS_STATE:?}" "${LOAD_PG_PORT:?}" "${BGW_REGISTRY:?}"

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$LOAD_PG_PORT" -U postgres -d postgres -c "$1"; }
line() { printf '%-11s | killed: %-44s | recovered: %-52s | lost: %s\n' "$@"; }

probe_token() {
  curl -sf -H "Authorization: Bearer $LOAD_ADMIN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"chaos-$1-$RANDOM\",\"roles\":[\"BUILDER\"],\"teams\":[\"probe\"]}" "$LOAD_BASE/api/v1/tokens" \
    | jq -r .token
}

# submit_probe <token> <tag> <seconds its step runs> [replica's base URL, default LOAD_BASE]: the build id (empty
# when refused). The replica that takes a submission wakes its own dispatcher at once, the other claims only on its
# next poll: to have a given replica run the probe, submit it there.
submit_probe() {
  local d base=${4:-$LOAD_BASE}
  d=$(mktemp -d)
  printf 'FROM %s/base/busybox\nRUN echo chaos-%s && sleep %s\nUSER 65534\n' "$BGW_REGISTRY" "$2" "$3" >"$d/Dockerfile"
  tar -C "$d" -c Dockerfile | curl -s --max-time 60 -H "Authorization: Bearer $1" -H 'Content-Type: application/x-tar' \
    --data-binary @- "$base/api/v1/builds?image=probe/chaos&tag=$2&noCache=true" | jq -r '.id // empty' || true
  rm -rf "$d"
}

# in_list <ids…>: a SQL list of uuids
in_list() { local s="" i; for i in "$@"; do s+="${s:+,}'$i'"; done; echo "${s:-'00000000-0000-0000-0000-000000000000'}"; }

# undecided <ids…>: how many of them are not final yet (or have no row at all)
undecided() {
  local ids; ids=$(in_list "$@")
  echo $(( $# - $(sql "select count(*) from build where id in ($ids) and status in ('SUCCEEDED','FAILED','CANCELLED','REJECTED')") ))
}

# Lost, over the whole database: a build RUNNING on a lease that lapsed more than the check interval ago (nobody
# decided it), plus the given ids with no row.
lost_now() {
  # distinct ids: a killed build is often one of the hook's own probes, given twice
  set -- $(printf '%s\n' "$@" | sort -u)
  local ids; ids=$(in_list "$@")
  local lapsed missing
  # (a failed query must not read as 0: command substitutions do not inherit errexit)
  lapsed=$(sql "select count(*) from build where status = 'RUNNING' and lease_expires_at < clock_timestamp() - interval '30 seconds'")
  missing=$(( $# - $(sql "select count(*) from build where id in ($ids)") ))
  [ -n "$lapsed" ] || { echo unknown; return; }
  echo $(( lapsed + missing ))
}

# Run twice, over the whole database: more than one build.succeeded or signed provenance, or more build.started
# than one plus its re-queues (a re-queued build starts again, once).
twice_now() {
  sql "select count(*) from build b where
    (select count(*) from audit_event a where a.action = 'build.succeeded' and a.target = 'build/' || b.id) > 1
    or (select count(*) from image_provenance p where p.build_id = b.id) > 1
    or (select count(*) from audit_event a where a.action = 'build.started' and a.target = 'build/' || b.id)
       > 1 + (select count(*) from audit_event a where a.action = 'build.requeued' and a.target = 'build/' || b.id)"
}

chain() {
  curl -s -H "Authorization: Bearer $LOAD_ADMIN" "$LOAD_BASE/api/v1/audit/verify" \
    | jq -r 'if .valid then "valid" else "BROKEN" end' 2>/dev/null || echo unknown
}

# wait_for <seconds> <command…>: polls every second until the command succeeds; false when the time ran out
wait_for() {
  local n=$1; shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 1; done
  return 1
}
