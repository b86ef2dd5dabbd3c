#!/usr/bin/env bash
# What the ShellCheck pass costs per Dockerfile (issue #12): lint of every corpus file with shellcheck=true against
# the same lint without it, warm, one thread, alternating (bench/lint/ShellCheckCost.java).
# The corpus is bench/lint/real-world by default (the files issue #12's speed target is about); CORPUS= chooses
# another (CORPUS=src/test/resources/corpus: the rule corpus the earlier figures were taken on).
#   bench/shellcheck-cost.sh [rounds]   (default 3; needs Debian's shellcheck on PATH)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${1:-3}
CORPUS=${CORPUS:-bench/lint/real-world}
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1; }
shellcheck --version | sed -n 2p
[ "${SKIP_PACKAGE:-0}" = 1 ] || mvn -o -q -B -Dstyle.color=never -DskipTests package >/dev/null
# shellcheck source=bench/classpath.bash
source "$(dirname "${BASH_SOURCE[0]}")/classpath.bash"
CP=$(bench_classpath)
OUT=$(mktemp -d)
javac -cp "$CP" -d "$OUT" bench/lint/ShellCheckCost.java
echo "corpus $CORPUS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp "$CP:$OUT" ShellCheckCost "$CORPUS" config/policy "$ROUNDS"
rm -rf "$OUT"
