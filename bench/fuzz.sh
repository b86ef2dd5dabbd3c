#!/usr/bin/env bash
# Fuzz the hostile-input parsers with Jazzer (coverage-guided): the Dockerfile parser, variable substitution, the
# tar intake inspector and the context re-pack, 60 s each (the @FuzzTest maxDuration). A crash or hang is written as a reproducer beside the seeds
# (src/test/resources/io/buildgateway/fuzz/ParserFuzzTestInputs/<target>/), where every later `make test` replays it.
#   bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for target in dockerfileParserNeverThrowsAndStaysBounded substitutionOutputIsBounded archiveInspectorOnlyAcceptsOrRefuses \
    canonicalBuildKitFormNamespacesEveryCacheMount; do
  echo "fuzzing $target for 60s"
  JAZZER_FUZZ=1 mvn -q -B test -Dtest="ParserFuzzTest#$target" \
    -Dsurefire.failIfNoSpecifiedTests=false 2>&1 | grep -E "#[0-9]+.*(DONE|pulse|NEW)|Done|crash|Exception|FAIL|Tests run" | tail -3
done
# The re-pack (intake): accepted archives re-pack to an archive accepted again, and re-packing is a fixed point.
echo "fuzzing acceptedArchivesRepackToAFixedPoint for 60s"
JAZZER_FUZZ=1 mvn -q -B test -Dtest="RepackFuzzTest#acceptedArchivesRepackToAFixedPoint" \
  -Dsurefire.failIfNoSpecifiedTests=false 2>&1 | grep -E "#[0-9]+.*(DONE|pulse|NEW)|Done|crash|Exception|FAIL|Tests run" | tail -3
