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
# Offline, as every Maven run here; the classpath goes to a file, not through Maven's (coloured) console output,
# whose ANSI escape codes once ended up at the start of the classpath.
CP_FILE=$(mktemp)
mvn -o -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null
CP=target/classes:$(cat "$CP_FILE")
rm -f "$CP_FILE"
if printf '%s' "$CP" | LC_ALL=C grep -q '[^[:print:]]'; then
  echo "the dependency classpath has non-printable characters: $CP" >&2
  exit 1
fi
OUT=$(mktemp -d)
javac -cp "$CP" -d "$OUT" bench/lint/ShellCheckCost.java
echo "corpus $CORPUS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp "$CP:$OUT" ShellCheckCost "$CORPUS" config/policy "$ROUNDS"
rm -rf "$OUT"
