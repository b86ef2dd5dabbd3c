#!/usr/bin/env bash
# Hook of bench/chaos.sh: one of the loaded gateway's two replicas killed with kill -9 while it runs builds, then
# started again with its own command line and environment. Recovered: the other replica decides the killed one's
# builds once their lease lapsed (gateway.builds.lease + lease-check-interval; docs/operations.md "A replica killed")
# — re-queued once when nothing of them reached the registry, else FAILED "replica lost" — and the killed replica
# serves again. Lost: a build left RUNNING on a lapsed lease, or without a row; twice: read from the audit trail.
# shellcheck source=bench/chaos.d/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
PIDFILE=$CHAOS_STATE/gateway-b.pid
IFS=, read -r -a BASES <<<"${LOAD_BASES:-$LOAD_BASE}"
if [ "${#BASES[@]}" -lt 2 ] || [ ! -f "$PIDFILE" ]; then
  line replica-kill "-" "one replica only: nothing to kill" "-"; exit 0
fi
VICTIM_BASE=${BASES[1]}
pid=$(cat "$PIDFILE")
kill -0 "$pid"

# Builds for replica B to run: the load's own, and probes whose step lasts long enough to be killed mid-build. Which
# replica claims a queued build is a race (the load's team may also be at its quota): probes are submitted to replica B
# (which wakes its own dispatcher at once; submitted to A, A won every race in a run of 2026-12-03), one every
# 15 s, until replica B runs a build, at most CHAOS_REPLICA_PROBES (default 12). A replica that never got a build is
# reported as such, not as a loss: nothing was killed.
TOKEN=$(probe_token replica)
probes=()
# A build of replica B's own run (not one B's lease recovery holds: owner "<replica>/recovery/<suffix>").
OWN_RUN="lease_owner like 'load-b-%' and lease_owner not like '%/recovery/%'"
on_b() { [ "$(sql "select count(*) from build where status = 'RUNNING' and $OWN_RUN")" -gt 0 ]; }
n=0
until on_b; do
  if [ "$n" -ge "${CHAOS_REPLICA_PROBES:-12}" ]; then
    wait_for 60 on_b && break
    line replica-kill "-" "replica load-b ran no build: $n probes submitted, none claimed by it (not killed)" \
      "probes: $(undecided "${probes[@]}") undecided"
    exit 0
  fi
  n=$((n + 1))
  id=$(submit_probe "$TOKEN" "replica-$(date +%s)-$n" 25 "$VICTIM_BASE")
  [ -n "$id" ] && probes+=("$id")
  wait_for 15 on_b && break
done
mapfile -t victims < <(sql "select id from build where status = 'RUNNING' and $OWN_RUN")

# Its command line, environment and folder, to start it again as it was.
cp "/proc/$pid/environ" "$CHAOS_STATE/replica-b.environ" # NUL-separated: values may hold newlines (BENCH_HOSTS_YAML)
cp "/proc/$pid/cmdline" "$CHAOS_STATE/replica-b.cmdline"
cwd=$(readlink "/proc/$pid/cwd")
kill -9 "$pid"
t0=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done

# Decided: no victim is RUNNING under the dead replica's lease any more, nor under a lease recovery's (which holds a
# lost build while it asks the registry and the host, before it re-queues or fails it).
ids=$(in_list "${victims[@]}")
decided() { [ "$(sql "select count(*) from build where id in ($ids) and status = 'RUNNING' and (lease_owner like 'load-b-%' or lease_owner like '%/recovery/%')")" = 0 ]; }
if wait_for 300 decided; then took="$(( $(date +%s) - t0 ))s"; else took="NOT within 300 s"; fi

# Started again: the same java command, environment and folder (its port, token and database as before).
mapfile -d '' -t cmd <"$CHAOS_STATE/replica-b.cmdline"
mapfile -d '' -t envs <"$CHAOS_STATE/replica-b.environ"
(cd "$cwd" && exec env -i "${envs[@]}" setsid "${cmd[@]}" >>"$CHAOS_STATE/gateway-b.log" 2>&1 </dev/null) &
newpid=$!
echo "$newpid" >"$PIDFILE"
# load.sh's stop.sh stops the replicas it started by pid: the new one instead of the killed one
[ -f "$CHAOS_STATE/stop.sh" ] && sed -i "s/^kill $pid /kill $newpid /" "$CHAOS_STATE/stop.sh"
ready() { curl -sf "$VICTIM_BASE/actuator/health/readiness" >/dev/null; }
if wait_for "${CHAOS_REPLICA_READY:-300}" ready; then back="back in $(( $(date +%s) - t0 ))s"; else back="not ready ${CHAOS_REPLICA_READY:-300}s after the kill (still starting)"; fi

# The victims' ends (re-queued ones run again elsewhere).
final() { [ "$(undecided "${victims[@]}")" = 0 ]; }
wait_for "${CHAOS_PROBE_WAIT:-120}" final || true
requeued=$(sql "select count(distinct target) from audit_event where action = 'build.requeued' and target in ($(for v in "${victims[@]}"; do printf "'build/%s'," "$v"; done | sed 's/,$//'))")
succeeded=$(sql "select count(*) from build where id in ($ids) and status = 'SUCCEEDED'")
failed_lost=$(sql "select count(*) from build where id in ($ids) and status = 'FAILED' and failure_reason like 'replica lost%'")
other=$(sql "select count(*) from build where id in ($ids) and status in ('FAILED','CANCELLED') and coalesce(failure_reason, '') not like 'replica lost%'")
line replica-kill "replica load-b (pid $pid, kill -9), ${#victims[@]} running" \
  "decided in $took: $requeued re-queued, $succeeded SUCCEEDED, $failed_lost failed 'replica lost', $other other; $back; audit $(chain)" \
  "$(lost_now "${victims[@]}" "${probes[@]}") (undecided: $(undecided "${victims[@]}")); twice: $(twice_now)"
