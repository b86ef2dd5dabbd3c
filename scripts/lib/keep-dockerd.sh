#!/usr/bin/env bash
# keep-dockerd.sh <keeper pid file> <log> -- <dockerd command…>
#
# Runs a build host's dockerd and starts it again whenever it ends on its own, as systemd's Restart=always does for
# a packaged daemon (these machines may have no systemd). Why: one Dockerfile the gateway fails to refuse can panic
# dockerd 26's BuildKit (an empty ${v#} pattern, docs/security.md) and with it every team's builds on the host; the
# gateway fails the builds it had there "host lost" and sends new ones elsewhere, and the keeper brings the host back
# so that its health check finds it again (defence in depth: the refusal is the policy's, the recovery the host's).
#
# A daemon that keeps ending is started again after 1 s, and after 30 s once it has ended 5 times within a minute.
# Every end is written to the log with its exit status. TERM or INT to the keeper stops the daemon (TERM, as
# dockerd expects) and then the keeper: stop the keeper first, or it starts the daemon again.
set -u
KEEPER_PID=${1:?usage: keep-dockerd.sh <pid file> <log> -- <command…>}
LOG=${2:?usage: keep-dockerd.sh <pid file> <log> -- <command…>}
shift 2
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "keep-dockerd.sh: no command" >&2; exit 2; }

echo $$ >"$KEEPER_PID"
child=""
stopping=false
stop() {
  stopping=true
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap stop TERM INT

note() { printf '%s keep-dockerd: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"; }

ends=()
while :; do
  "$@" >>"$LOG" 2>&1 </dev/null &
  child=$!
  # A TERM between the last check and the line above found no daemon to stop: stop this one.
  $stopping && kill -TERM "$child" 2>/dev/null
  # A trapped signal ends `wait` early: wait again until the daemon itself has ended.
  status=0
  while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    status=$?
  done
  child=""
  if $stopping; then
    note "stopped (the daemon exited with status $status)"
    rm -f "$KEEPER_PID"
    exit 0
  fi
  now=$(date +%s)
  recent=()
  for t in "${ends[@]}" "$now"; do [ $((now - t)) -lt 60 ] && recent+=("$t"); done
  ends=("${recent[@]}")
  pause=1
  [ "${#ends[@]}" -ge 5 ] && pause=30
  note "the daemon exited with status $status; starting it again in ${pause} s (${#ends[@]} ends within a minute)"
  # Sleep in the background so that a TERM ends the pause at once.
  $stopping || { sleep "$pause" & child=$!; wait "$child" 2>/dev/null; }
  child=""
  if $stopping; then
    note "stopped"
    rm -f "$KEEPER_PID"
    exit 0
  fi
done
