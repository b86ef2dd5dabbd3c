#!/usr/bin/env bash
# Benchmark: the same small context built N times directly with the Docker CLI (docker build --no-cache, then
# docker push), N times through the gateway (curl, then follow the log until the build ends) and N times with the
# Docker CLI against the gateway's Docker Engine API port (docker build -q, which ends when the build is pushed),
# against the same user-namespaced daemon and registry. Prints the median of each and the ratios to direct.
# Then: the gateway's heap growth while it receives a 1 GiB context (sampled with jstat).
#
#   bench/build-vs-direct.sh [N]        (default N=10; needs root, like make run)
# BENCH_BASE=debian builds FROM base/debian:12 (~6,000 files: OpenSCAP's run is ~10x busybox's) instead of
# base/busybox; BENCH_SKIP_BIG=1 leaves out the 1 GiB context; BENCH_EXTRA_YAML adds settings under gateway: (e.g.
# "  scanning.compliance-cache-entries: 0" to evaluate every image: a dotted key, since bench/gateway.sh's YAML already
# has a scanning: block); BENCH_JAR, BGW_REGISTRY_PORT: bench/gateway.sh.
# BENCH_PRINT_TIMINGS=1 prints each measured scan's timings.
# BENCH_PAYLOAD_MB=256 makes the COPY's random payload that many MiB instead of 1 (an image whose own layer is large:
# the quarantine push must upload it before the registry holds it); BENCH_SKIP_CLI=1 leaves out the Docker CLI →
# gateway path (its median then prints as 0).
set -euo pipefail
N=${1:-10}
PORT=${BENCH_PORT:-8090}
DOCKER_API_PORT=${BENCH_DOCKER_API_PORT:-2390}
# shellcheck source=bench/gateway.sh
source "$(dirname "$0")/gateway.sh"
bench_up "  intake:
    max-context-size: 2GB
    max-uncompressed-size: 4GB
  docker-api:
    enabled: true
    port: $DOCKER_API_PORT
    address: 127.0.0.1
${BENCH_EXTRA_YAML:-}"
TOKEN=$(bench_token '["BUILDER"]' '["bench"]')

# The context: FROM base/busybox (or base/debian:12 with BENCH_BASE=debian), one RUN, a 1 MiB COPY (BENCH_PAYLOAD_MB).
case "${BENCH_BASE:-busybox}" in
  busybox) BASE_IMAGE=base/busybox ;;
  debian) BASE_IMAGE=base/debian:12 ;;
  *) echo "BENCH_BASE must be busybox or debian" >&2; exit 2 ;;
esac
echo "base: $BASE_IMAGE" >&2
mkdir -p "$WORK/ctx"
head -c $((${BENCH_PAYLOAD_MB:-1} * 1048576)) /dev/urandom >"$WORK/ctx/payload.bin"
echo "payload: ${BENCH_PAYLOAD_MB:-1} MiB" >&2
printf 'FROM %s/'"$BASE_IMAGE"'\nCOPY payload.bin /srv/payload.bin\nRUN wc -c /srv/payload.bin\nUSER 65534\n' "$BGW_REGISTRY" \
  >"$WORK/ctx/Dockerfile"
tar -C "$WORK/ctx" -cf "$WORK/ctx.tar" .

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# The direct side is what a team would run on the same daemon: a BuildKit build (the CLI with Debian's buildx
# plugin, a session giving BuildKit the registry token) and a push; the gateway also builds with BuildKit (issue #13).
export DOCKER_HOST=$BGW_DOCKER_HOST DOCKER_BUILDKIT=1 DOCKER_CONFIG=$BGW_DOCKER_CONFIG  # a token for bench/direct (env.sh)
: >"$WORK/direct"; : >"$WORK/gateway"; : >"$WORK/cli"
echo "warming up (three of each, not counted: the gateway is a long-running JVM, measured warm)" >&2
for w in 1 2 3; do
  docker build -q --no-cache --pull --network none -t "$BGW_REGISTRY/bench/direct:warm$w" "$WORK/ctx" >/dev/null
  docker push -q "$BGW_REGISTRY/bench/direct:warm$w" >/dev/null
done

# Waits the way a CI job does: follow the build log (one streaming request that ends when the build does),
# then read the final status once.
gateway_build() {
  local id status
  id=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-tar' --data-binary @"$WORK/ctx.tar" \
    "localhost:$PORT/api/v1/builds?image=bench/app&tag=$1&noCache=true" | jq -r .id)
  curl -sfN -H "Authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/builds/$id/logs?follow=true" >/dev/null
  status=$(curl -sf -H "Authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/builds/$id" | jq -r .status)
  [ "$status" = SUCCEEDED ] || { echo "build $id $status" >&2; return 1; }
  echo "$id" >"$WORK/gateway-id.$1"
}
for w in 1 2 3; do gateway_build "warm$w"; done

# The Docker CLI → gateway path (docs/docker-cli.md): the token in HttpHeaders of a config of its own; -q prints the
# pushed reference when the build has been pushed, and the exit status says whether it was.
mkdir -p "$WORK/cli-config"
printf '{"HttpHeaders": {"Authorization": "Bearer %s"}}\n' "$TOKEN" >"$WORK/cli-config/config.json"
cli_build() {
  [ "${BENCH_SKIP_CLI:-}" = 1 ] && return 0
  DOCKER_BUILDKIT=0 DOCKER_HOST=tcp://127.0.0.1:$DOCKER_API_PORT DOCKER_CONFIG=$WORK/cli-config \
    docker build -q --no-cache -t "bench/cli:$1" "$WORK/ctx" >/dev/null 2>"$WORK/cli.err" \
    || { cat "$WORK/cli.err" >&2; return 1; }
}
for w in 1 2 3; do cli_build "warm$w"; done

for i in $(seq 1 "$N"); do
  t0=$(now)
  docker build -q --no-cache --pull --network none -t "$BGW_REGISTRY/bench/direct:$i" "$WORK/ctx" >/dev/null
  docker push -q "$BGW_REGISTRY/bench/direct:$i" >/dev/null
  t1=$(now)
  gateway_build "$i"
  t2=$(now)
  cli_build "$i"
  t3=$(now)
  echo "$t1 - $t0" | bc >>"$WORK/direct"
  echo "$t2 - $t1" | bc >>"$WORK/gateway"
  if [ "${BENCH_SKIP_CLI:-}" = 1 ]; then echo 0 >>"$WORK/cli"; else echo "$t3 - $t2" | bc >>"$WORK/cli"; fi
done
D=$(median <"$WORK/direct"); G=$(median <"$WORK/gateway"); C=$(median <"$WORK/cli")
printf '\nbuild + push, median of %d (no cache, same daemon and registry)\n' "$N"
printf '  direct docker CLI : %.3f s\n' "$D"
printf '  through gateway   : %.3f s\n' "$G"
printf '  docker CLI → gateway: %.3f s\n' "$C"
printf '  ratio gateway/direct: %.2f (target <= 1.3, issue #13); docker CLI → gateway/direct: %.2f\n' "$(echo "$G / $D" | bc -l)" \
  "$(echo "$C / $D" | bc -l)"

# Issue #11's target: re-packing the context and writing the canonical Dockerfile cost under 5 % of the gateway's
# overhead (gateway - direct) on this context. The gateway times both per submission (gateway.builds.prepare, the
# re-pack including the canonical text's bytes; the canonical writing itself is inside the policy evaluation and is
# timed apart in the same JVM by gateway.policy.canonical). Mean over every build of this run, warm-up included.
PROM=$(curl -sf -H "Authorization: Bearer $ADMIN" "localhost:$PORT/actuator/prometheus")
metric_mean() { echo "$PROM" | awk -v m="$1" '$1 ~ "^"m"_seconds_sum" {s+=$2} $1 ~ "^"m"_seconds_count" {c+=$2} END {if (c) printf "%.6f\n", s/c; else print 0}'; }
REPACK=$(metric_mean gateway_builds_prepare)
CANON=$(metric_mean gateway_policy_canonical)
OVER=$(echo "$G - $D" | bc -l)
printf '  re-pack %.2f ms + canonical Dockerfile %.3f ms per build = %.2f %% of the overhead %.3f s (target < 5 %%)\n' \
  "$(echo "$REPACK * 1000" | bc -l)" "$(echo "$CANON * 1000" | bc -l)" \
  "$(echo "($REPACK + $CANON) * 100 / $OVER" | bc -l)" "$OVER"

# Each phase's mean over the builds of this run (warm-up included), from the gateway's gateway.build.phase timer
# (a jar before it has none). Verification's parts overlap: OpenSCAP runs beside the SBOM and the matching.
PHASES=$(echo "$PROM" | awk '$1 ~ /^gateway_build_phase_seconds_(sum|count)\{/ {
    match($1, /phase="[^"]*"/); p = substr($1, RSTART + 7, RLENGTH - 8)
    if ($1 ~ /_sum/) s[p] += $2; else c[p] += $2 }
  END { for (p in s) if (c[p]) printf "%s %.1f ms; ", p, s[p] * 1000 / c[p] }')
[ -n "$PHASES" ] && printf '  phases (mean per build): %s\n' "$PHASES"

# OpenSCAP per measured gateway build, from each scan's timings: oscap's own run, the whole compliance leg, and how
# many were composed over the base's evaluation (complianceComposed; a jar before it has no such field: 0).
: >"$WORK/oscap"; : >"$WORK/compliance"; : >"$WORK/layers"; : >"$WORK/rwait"; COMPOSED=0; SAVED=0
for i in $(seq 1 "$N"); do
  id=$(cat "$WORK/gateway-id.$i")
  digest=$(curl -sf -H "Authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/builds/$id" | jq -r .imageDigest)
  timings=$(curl -sf -H "Authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/images/$digest/scans" | jq -c .timings)
  echo "$timings" | jq -r '.oscapMs // 0' >>"$WORK/oscap"
  echo "$timings" | jq -r '.complianceMs // 0' >>"$WORK/compliance"
  if [ "$(echo "$timings" | jq -r '.complianceComposed // 0')" = 1 ]; then COMPOSED=$((COMPOSED + 1)); fi
  echo "$timings" | jq -r '.layersMs // 0' >>"$WORK/layers"
  echo "$timings" | jq -r '.registryWaitMs // 0' >>"$WORK/rwait"
  if [ "$(echo "$timings" | jq -r '.layersFromSave // 0')" = 1 ]; then SAVED=$((SAVED + 1)); fi
  if [ -n "${BENCH_PRINT_TIMINGS:-}" ]; then echo "  scan $i: $timings"; fi
done
printf '  OpenSCAP per build (%s): oscap median %s ms, compliance leg median %s ms; composed over the base: %d of %d\n' \
  "$BASE_IMAGE" "$(median <"$WORK/oscap")" "$(median <"$WORK/compliance")" "$COMPOSED" "$N"
# Where the scan read the layers (layersMs: the read, from the request; registryWaitMs: the wait for the quarantine
# push before a registry read, 0 when none), and how many read them from docker save.
printf '  layers read per build: median %s ms (registry wait median %s ms); from docker save in %d of %d\n' \
  "$(median <"$WORK/layers")" "$(median <"$WORK/rwait")" "$SAVED" "$N"
[ "${BENCH_SKIP_BIG:-}" = 1 ] && exit 0

# Heap growth while receiving a 1 GiB context (a Dockerfile the policy rejects, so no build runs after intake).
mkdir -p "$WORK/big"
printf 'FROM scratch\n' >"$WORK/big/Dockerfile"
head -c 1073741824 /dev/zero >"$WORK/big/blob"
tar -C "$WORK/big" -cf "$WORK/big.tar" . && rm "$WORK/big/blob"
heap_used() { jstat -gc "$GW_PID" | awk 'NR==2 {printf "%.0f\n", ($3+$4+$6+$8)*1024}'; }
jcmd "$GW_PID" GC.run >/dev/null 2>&1 || true
sleep 1
BASE=$(heap_used)
( while kill -0 "$GW_PID" 2>/dev/null; do heap_used; sleep 0.1; done ) >"$WORK/heap" &
SAMPLER=$!
t0=$(now)
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-tar' \
  -X POST -T "$WORK/big.tar" "localhost:$PORT/api/v1/builds?image=bench/big&tag=1" >"$WORK/code"
t1=$(now)
kill "$SAMPLER" 2>/dev/null || true
PEAK=$(sort -n "$WORK/heap" | tail -1)
printf '\n1 GiB context: HTTP %s in %.1f s; heap before %d MiB, peak %d MiB, growth %d MiB (target < 256 MiB)\n' \
  "$(cat "$WORK/code")" "$(echo "$t1 - $t0" | bc)" $((BASE / 1048576)) $((PEAK / 1048576)) $(((PEAK - BASE) / 1048576))
