#!/usr/bin/env bash
# Lint throughput: the gateway's policy engine (every rule of the shipped policy) against the npm linters
# dockerfilelint and dockerfile-utils, over the same corpus, single thread, warm, one process each, each with the
# same warm-up before its measured window (at least WARMUP seconds, default 20, and until the JVM's compiler is
# quiet: below). The corpus is bench/lint/real-world by default: 48 Dockerfiles written in the style of what teams
# really build (multi-stage Java, Node, Python, Go, Rust, .NET, nginx sites, Debian/Alpine/UBI bases, heredocs,
# cache mounts; 20-120 lines each), which is what issue #12's target is about. CORPUS=src/test/resources/corpus
# chooses the rule corpus instead (250 short hand-written cases, many of them edge cases). Every engine lints every
# file once before it is timed and prints how many it processed and how many threw (or, for ours, did not parse or
# were refused by the canonical writer); a file that throws stays in the measured loop (the throw is that engine's
# work on it). Prints the load average, files/s (wall clock), files per
# CPU-second of the whole process (JIT and GC threads included, on both sides) and p99 per file, and the ratios to
# the faster npm linter by both: on a host shared with other work the wall-clock ratio measures the load as much as
# the engines, the CPU-time ratio much less.
#   bench/lint-throughput.sh [seconds]   (default 10; installs the npm linters into .state/bench-npm on demand)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_EACH=${1:-10}
CORPUS=${CORPUS:-bench/lint/real-world}
WARMUP=${WARMUP:-20}
# Warm means each engine's compiler is done: the JVM warms up at least WARMUP s and then until its compiler threads
# are quiet (under 5 % of a core over 2 s, three times in a row), at most WARMUP_MAX s (default 120), and the npm linters then get the same
# warm-up time as the JVM took (node's is over within seconds). On a quiet host the JVM is quiet by WARMUP; on a
# loaded one its C2 thread (97 rules, each compiled apart) needs a minute or more of wall clock, and a window that
# starts before it is done measures the JIT's one-off compilation, not lint throughput, against a node that has long
# finished its own. WARMUP_MAX=$WARMUP gives the old behaviour (a fixed warm-up). The JVM prints the C2 share of
# its window ("cpu by thread"), so a window that still has the compiler in it shows.
WARMUP_MAX=${WARMUP_MAX:-120}
# The engine runs with the JIT options the gateway itself starts with (scripts/run.sh, Dockerfile.gateway; why:
# docs/operations.md, "JIT compilation on few cores"), as bench/gateway.sh does for the other benches: the lint is
# measured as the gateway runs it. With the JVM's defaults two of six JVMs settled ~40 % slower on 2026-12-05, none
# of six with these (docs/benchmarks.md). LINT_JIT_OPTS= (empty) gives the JVM's defaults.
LINT_JIT_OPTS=${LINT_JIT_OPTS-"-XX:Tier3DelayOn=1000000 -XX:Tier4InvocationThreshold=15000 \
-XX:Tier4MinInvocationThreshold=1800 -XX:Tier4CompileThreshold=45000 -XX:Tier4BackEdgeThreshold=120000"}
NPM_DIR=$ROOT/.state/bench-npm
if [ ! -d "$NPM_DIR/node_modules/dockerfilelint" ] || [ ! -d "$NPM_DIR/node_modules/dockerfile-utils" ]; then
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm install --silent --no-audit --no-fund dockerfilelint@1.8.0 dockerfile-utils@0.16.3 >/dev/null)
fi
# SKIP_PACKAGE=1 uses target/classes as they are (compiled by hand, e.g. while comparing builds).
[ "${SKIP_PACKAGE:-0}" = 1 ] || mvn -o -q -B -Dstyle.color=never -DskipTests package >/dev/null
# shellcheck source=bench/classpath.bash
source "$(dirname "${BASH_SOURCE[0]}")/classpath.bash"
CP=$(bench_classpath)
OUT=$(mktemp -d)
javac -cp "$CP" -d "$OUT" bench/lint/LintBench.java
# This machine shares its host (steal time moves every figure by tens of percent), so the engines run in alternation,
# ROUNDS times, and the ratio is the median of the per-round ratios.
ROUNDS=${ROUNDS:-3}
: >"$OUT/ratios"
: >"$OUT/cpu-ratios"
echo "corpus $CORPUS: $(ls "$CORPUS"/*.Dockerfile | wc -l) files, $(cat "$CORPUS"/*.Dockerfile | wc -l) lines"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r: load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
  # shellcheck disable=SC2086 # the options are words
  OURS=$(java $LINT_JIT_OPTS -cp "$CP:$OUT" LintBench "$CORPUS" config/policy "$SECONDS_EACH" "$WARMUP" "$WARMUP_MAX")
  TOOK=$(echo "$OURS" | grep -oE '^warm-up [0-9]+' | grep -oE '[0-9]+')
  OURS=$(echo "$OURS" | grep -v '^warm-up')
  echo "round $r: warm-up $TOOK s on both sides"
  THEIRS=$(NODE_PATH=$NPM_DIR/node_modules node bench/lint/npm-linters.js "$CORPUS" "$SECONDS_EACH" "$TOOK")
  echo "round $r: $OURS"
  echo "$THEIRS" | sed "s/^/round $r: /"
  ours=$(echo "$OURS" | grep -oE '[0-9]+ files/s' | grep -oE '[0-9]+')
  best=$(echo "$THEIRS" | grep -oE '[0-9]+ files/s' | grep -oE '[0-9]+' | sort -n | tail -1)
  echo "$ours / $best" | bc -l >>"$OUT/ratios"
  ours_cpu=$(echo "$OURS" | grep -oE '[0-9]+ files/cpu-s' | grep -oE '[0-9]+')
  best_cpu=$(echo "$THEIRS" | grep -oE '[0-9]+ files/cpu-s' | grep -oE '[0-9]+' | sort -n | tail -1)
  echo "$ours_cpu / $best_cpu" | bc -l >>"$OUT/cpu-ratios"
  echo "round $r: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
done
MEDIAN=$(sort -n "$OUT/ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
CPU_MEDIAN=$(sort -n "$OUT/cpu-ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
rm -rf "$OUT"
printf 'ratio gateway / faster npm linter, median of %d rounds: %.2f by the wall clock, %.2f by CPU time (target >= 4, issue #12, with every rule of the default policy and ShellCheck off; p99 target < 1 ms)\n' \
  "$ROUNDS" "$MEDIAN" "$CPU_MEDIAN"
