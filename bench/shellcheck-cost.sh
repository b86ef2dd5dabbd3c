#!/usr/bin/env bash
# What the ShellCheck pass costs per Dockerfile (issue #12): lint of every corpus file with shellcheck=true against
# the same lint without it, warm, one thread, alternating (bench/lint/ShellCheckCost.java).
#   bench/shellcheck-cost.sh [rounds]   (default 3; needs Debian's shellcheck on PATH)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${1:-3}
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1; }
shellcheck --version | sed -n 2p
mvn -q -B -DskipTests package >/dev/null
CP=target/classes:$(mvn -q -B dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
OUT=$(mktemp -d)
javac -cp "$CP" -d "$OUT" bench/lint/ShellCheckCost.java
java -cp "$CP:$OUT" ShellCheckCost src/test/resources/corpus config/policy "$ROUNDS"
rm -rf "$OUT"
