#!/usr/bin/env bash
# Benchmark: verification and scanning of images derived from base/debian:12, through a real gateway on the bench
# environment (user-namespaced dockerd, registry, oscap). For each of N builds (no cache) it reads the scan's own
# phase timings and the build's start/finish, and prints medians of:
#   - SBOM + matching (package databases parsed from the layer stream verification reads anyway, CycloneDX,
#     advisory match) — target < 1 s; the layer read itself is printed beside it
#   - the whole scan (layers + filesystem + SBOM + match + OpenSCAP)
#   - the added end-to-end time of verification+scan relative to the rest of the build (same builds)
# Then matching 1,000 images against 10,000 advisories (bench/scan/MatchBench.java) — target < 5 s.
#
#   bench/scan-time.sh [N]        (default N=5; needs root, like make run)
set -euo pipefail
N=${1:-5}
PORT=${BENCH_PORT:-8091}
# shellcheck source=bench/gateway.sh
source "$(dirname "$0")/gateway.sh"
bench_up
api() { curl -sf -H "Authorization: Bearer $1" "${@:2}"; }
TOKEN=$(bench_token '["BUILDER"]' '["bench"]')
SECURITY=$(bench_token '["SECURITY"]' '[]')

# 500 advisories naming Debian 12 source packages of the base (and others), so matching has work to do.
python3 - "$WORK/advisories.json" <<'PY'
import json, sys
names = ["glibc", "bash", "coreutils", "tar", "gzip", "dpkg", "apt", "systemd", "util-linux", "zlib", "openssl",
         "perl", "xz-utils", "ncurses", "shadow", "pam", "gnupg2", "libgcrypt20", "sed", "grep"]
docs = [{"id": f"BENCH-{i}", "modified": "2026-01-01T00:00:00Z",
         "affected": [{"package": {"ecosystem": "Debian:12", "name": names[i % len(names)] if i % 4 == 0 else f"other{i}"},
                       "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.1-1"}]}]}]}
        for i in range(500)]
json.dump(docs, open(sys.argv[1], "w"))
PY
api "$SECURITY" -H 'Content-Type: application/json' --data-binary @"$WORK/advisories.json" \
  "localhost:$PORT/api/v1/advisories" | jq -c '{imported, affectedImages}'

mkdir -p "$WORK/ctx"
printf 'FROM %s/base/debian:12\nRUN echo built > /etc/bench-stamp\nUSER nobody\nHEALTHCHECK NONE\n' "$BGW_REGISTRY" \
  >"$WORK/ctx/Dockerfile"
tar -C "$WORK/ctx" -cf "$WORK/ctx.tar" .
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
: >"$WORK/sbom"; : >"$WORK/scan"; : >"$WORK/compliance"; : >"$WORK/ratio"; : >"$WORK/layers"
for i in $(seq 0 "$N"); do
  id=$(api "$TOKEN" -H 'Content-Type: application/x-tar' --data-binary @"$WORK/ctx.tar" \
    "localhost:$PORT/api/v1/builds?image=bench/deb&tag=$i&noCache=true" | jq -r .id)
  curl -sfN -H "Authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/builds/$id/logs?follow=true" >/dev/null
  build=$(api "$TOKEN" "localhost:$PORT/api/v1/builds/$id")
  [ "$(echo "$build" | jq -r .status)" = SUCCEEDED ] || { echo "build $id: $(echo "$build" | jq -c .)" >&2; exit 1; }
  [ "$i" = 0 ] && continue   # warm-up
  scans=$(api "$TOKEN" "localhost:$PORT/api/v1/images/$(echo "$build" | jq -r .imageDigest)/scans")
  t=$(echo "$scans" | jq '.timings')
  echo "$t" | jq '.sbomMs + .matchMs' >>"$WORK/sbom"
  echo "$t" | jq '.layersMs' >>"$WORK/layers"
  echo "$t" | jq '.totalMs' >>"$WORK/scan"
  echo "$t" | jq '.complianceMs' >>"$WORK/compliance"
  total_ms=$(echo "$build" | jq 'def t: (sub("\\.[0-9]+Z$"; "Z") | fromdate)
      + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber);
    ((.finishedAt | t) - (.startedAt | t)) * 1000 | floor')
  echo "$t $total_ms" | jq -s '.[0].totalMs / ([.[1] - .[0].totalMs, 1] | max)' >>"$WORK/ratio"
  echo "build $i: $(echo "$t" | jq -c .) vulnerabilities=$(echo "$scans" | jq -c '.vulnerabilities.counts') total=${total_ms} ms" >&2
done
printf '\nscan of a base/debian:12-derived image, median of %d builds\n' "$N"
printf '  layer read (docker save stream: verification and the SBOM inputs): %s ms\n' "$(median <"$WORK/layers")"
printf '  SBOM + matching: %s ms (target < 1000 ms)\n' "$(median <"$WORK/sbom")"
printf '  OpenSCAP compliance (export, extraction, oscap; overlaps the layer read): %s ms\n' "$(median <"$WORK/compliance")"
printf '  whole verification + scan: %s ms\n' "$(median <"$WORK/scan")"
printf '  ratio verification+scan / rest of the build (build, labels, push): %.2f\n' "$(median <"$WORK/ratio")"

kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
GW_PID=""
# shellcheck source=bench/classpath.bash
source "$(dirname "${BASH_SOURCE[0]}")/classpath.bash"
CP=$(bench_classpath)
javac -cp "$CP" -d "$WORK/match" bench/scan/MatchBench.java
java -cp "$CP:$WORK/match" io.buildgateway.scanning.MatchBench 1000 10000
