#!/usr/bin/env bash
# Hook of bench/chaos.sh: a build host's dockerd killed with kill -9 while it runs a build — load-2, the first host
# bench/load.sh started with scripts/buildhost.sh (a dockerd 26 with userns-remap in a network namespace of its own)
# — then started again with its own command line in the same namespace, as the host's supervisor would.
# Recovered: the build it ran FAILED "host lost", the host unhealthy at once, the builds started while it is down
# all on the other hosts ("… on it" must be 0), and healthy again once the daemon answers (the gateway's leftovers on it removed by label first; docs/operations.md "A build host's daemon killed").
# Lost: a build left RUNNING on a lapsed lease, or without a row; twice: read from the audit trail.
# shellcheck source=bench/chaos.d/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
HOST=load-2
dir=$(find "$CHAOS_STATE/hosts" -mindepth 1 -maxdepth 1 -type d -name '*-h2' 2>/dev/null | head -1)
if [ -z "$dir" ] || [ ! -f "$dir/docker.pid" ]; then line dockerd-kill "-" "no second build host ($CHAOS_STATE/hosts)" "-"; exit 0; fi
id=$(basename "$dir")
netns=bgw-eph-$id
sock=${BGW_BUILDHOST_RUN:-/run/bgw-eph}/$id/docker.sock
healthy() { curl -s -H "Authorization: Bearer $LOAD_ADMIN" "$LOAD_BASE/api/v1/hosts" \
  | jq -e --arg h "$HOST" '.[] | select(.name == $h) | .healthy' >/dev/null; }
unhealthy() { ! healthy; }

TOKEN=$(probe_token dockerd)
probes=()
for n in 1 2 3; do b=$(submit_probe "$TOKEN" "dockerd-$(date +%s)-$n" 25); [ -n "$b" ] && probes+=("$b"); done
# The kill must land while the daemon runs a build step: a probe's RUN sleeps 25 s, so a probe RUNNING on the host
# for 3 s is in its step. A load build RUNNING there may already be past the daemon (scanned, pushed, being signed) and
# may rightly succeed without it, so the victims are the probes on the host when one got there, else (after 120 s)
# whatever runs there; the line names the outcome of every victim that did not fail "host lost".
probe_ids=$(in_list "${probes[@]}")
probe_on_host() { [ "$(sql "select count(*) from build where status = 'RUNNING' and host = '$HOST' and id in ($probe_ids) and started_at < clock_timestamp() - interval '3 seconds'")" -gt 0 ]; }
on_host() { [ "$(sql "select count(*) from build where status = 'RUNNING' and host = '$HOST' and started_at < clock_timestamp() - interval '3 seconds'")" -gt 0 ]; }
if wait_for 120 probe_on_host; then
  mapfile -t victims < <(sql "select id from build where status = 'RUNNING' and host = '$HOST' and id in ($probe_ids)")
  chosen="probe"
else
  wait_for 60 on_host || { line dockerd-kill "-" "host $HOST ran no build within 180 s" "probes: $(undecided "${probes[@]}") undecided"; exit 1; }
  mapfile -t victims < <(sql "select id from build where status = 'RUNNING' and host = '$HOST'")
  chosen="load build"
fi

pid=$(cat "$dir/docker.pid")
cp "/proc/$pid/cmdline" "$CHAOS_STATE/dockerd-h2.cmdline"
kill -9 "$pid"
t0=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done

final() { [ "$(undecided "${victims[@]}")" = 0 ]; }
if wait_for 180 final; then took="$(( $(date +%s) - t0 ))s"; else took="NOT within 180 s"; fi
ids=$(in_list "${victims[@]}")
host_lost=$(sql "select count(*) from build where id in ($ids) and status = 'FAILED' and failure_reason like 'host lost%'")
other=$(sql "select count(*) from build where id in ($ids) and coalesce(failure_reason, '') not like 'host lost%'")
others=$(sql "select coalesce(string_agg(status || coalesce(': ' || left(failure_reason, 60), ''), '; '), '') from build where id in ($ids) and coalesce(failure_reason, '') not like 'host lost%'")
if wait_for 30 unhealthy; then marked="unhealthy"; else marked="still HEALTHY"; fi

# Started again in its namespace with the same command line; nsenter execs dockerd, so $! is the daemon.
# While it is down the next builds go to the other hosts (issue #17): two more probes submitted now, waited for until
# they started, and every build started between the kill and the restart counted by host (the database's clock, as
# started_at); "… on it" must be 0.
during=()
for n in 1 2; do b=$(submit_probe "$TOKEN" "dockerd-down-$(date +%s)-$n" 1); [ -n "$b" ] && during+=("$b"); done
during_started() { [ "$(sql "select count(*) from build where id in ($(in_list "${during[@]}")) and started_at is not null")" = "${#during[@]}" ]; }
wait_for 90 during_started || true
elsewhere=$(sql "select count(*) filter (where host <> '$HOST') || ' on other hosts, ' || count(*) filter (where host = '$HOST') || ' on it' from build where started_at >= to_timestamp($t0) and started_at < clock_timestamp()")
probes+=("${during[@]}")
mapfile -d '' -t cmd <"$CHAOS_STATE/dockerd-h2.cmdline"
setsid nsenter "--net=/run/netns/$netns" "${cmd[@]}" >>"$dir/dockerd.log" 2>&1 </dev/null &
echo $! >"$dir/dockerd.launcher.pid"
t1=$(date +%s)
if wait_for 180 healthy; then back="healthy again $(( $(date +%s) - t1 ))s after the restart"; else back="NOT healthy within 180 s"; fi
leftovers=$(curl -s --unix-socket "$sock" -G "http://localhost/containers/json" --data-urlencode all=1 \
  --data-urlencode 'filters={"label":["io.buildgateway.build-id"]}' | jq length 2>/dev/null || echo "?")
dangling=$(curl -s --unix-socket "$sock" -G "http://localhost/images/json" \
  --data-urlencode 'filters={"label":["io.buildgateway.build-id"],"dangling":["true"]}' | jq length 2>/dev/null || echo "?")
# the other probes end somewhere (another host, or this one once back)
probes_final() { [ "$(undecided "${probes[@]}")" = 0 ]; }
wait_for "${CHAOS_PROBE_WAIT:-60}" probes_final || true
line dockerd-kill "dockerd of $HOST (pid $pid, kill -9), ${#victims[@]} running ($chosen)" \
  "$host_lost failed 'host lost' in $took ($other other${others:+: $others}); host $marked, builds started while it was down: $elsewhere; $back, leftovers $leftovers containers $dangling images; audit $(chain)" \
  "$(lost_now "${victims[@]}" "${probes[@]}") (probes undecided: $(undecided "${probes[@]}")); twice: $(twice_now)"
