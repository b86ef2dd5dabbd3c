#!/usr/bin/env bash
# Fuzz the hostile-input parsers with Jazzer (coverage-guided), 60 s each (the @FuzzTest maxDuration): the Dockerfile
# parser, variable substitution, the tar intake inspector and the context re-pack (issue #11), and since issue #17 the
# package-database readers, the layer audit, the root filesystem reader, the OSV import, the XCCDF results reader,
# DSSE envelopes, the canonical Dockerfile writer, the policy loader and the Docker API's build parameters, and the
# egress proxy's allowlist (issue #15). A crash or hang is written as a reproducer
# beside the target's seeds (src/test/resources/<package>/<Class>Inputs/<target>/), where every later `make test`
# replays it.
#   bench/fuzz.sh                       every target
#   bench/fuzz.sh OsvFuzzTest           the targets of one class (or Class#method)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(
  ParserFuzzTest#dockerfileParserNeverThrowsAndStaysBounded
  ParserFuzzTest#substitutionOutputIsBounded
  ParserFuzzTest#archiveInspectorOnlyAcceptsOrRefuses
  ParserFuzzTest#canonicalBuildKitFormNamespacesEveryCacheMount
  RepackFuzzTest#acceptedArchivesRepackToAFixedPoint
  PackageDatabaseFuzzTest#dpkgStatusNamesOnlyWholePackages
  PackageDatabaseFuzzTest#apkInstalledNamesOnlyWholePackages
  PackageDatabaseFuzzTest#pythonMetadataNamesOnePackageAtMost
  PackageDatabaseFuzzTest#packageLockAndManifestsNeverThrow
  PackageDatabaseFuzzTest#jarCoordinatesReadOrStopWithinTheBudget
  PackageDatabaseFuzzTest#allReadersTogetherNeverThrow
  LayerFuzzTest#layerAuditReadsOrRefuses
  LayerFuzzTest#oneLayerReadsOrRefuses
  LayerFuzzTest#rootfsReaderNeverWritesOutsideItsFolder
  OsvFuzzTest#advisoriesParseOrAreRefusedAndMatchWithoutError
  XccdfFuzzTest#resultsReadOrRefused
  XccdfFuzzTest#profilesReadOrRefused
  DsseFuzzTest#envelopesParseOrAreRefusedAndOnlyTheSignedPayloadVerifies
  CanonicalDockerfileFuzzTest#canonicalTextReparsesTheSameOrIsRefused
  PolicyLoaderFuzzTest#policyLoadsOrIsRefusedWithAReason
  DockerBuildParametersFuzzTest#queryIsTranslatedOrRefusedWithReasons
  AllowlistFuzzTest#requestIsJudgedNeverThrown
)
if [[ $# -gt 0 ]]; then
  mapfile -t TARGETS < <(printf '%s\n' "${TARGETS[@]}" | grep -F -- "$1")
fi
# Compiled once; each target then runs in a JVM of its own (Jazzer fuzzes one @FuzzTest per run). Offline, as every
# Maven run of the benches: the install has put every dependency and plugin in the local repository.
mvn -o -q -B test-compile
for target in "${TARGETS[@]}"; do
  echo "fuzzing $target for 60s"
  JAZZER_FUZZ=1 mvn -o -q -B surefire:test -Dunit.argLine= -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false 2>&1 \
    | grep -E "#[0-9]+.*(DONE|pulse|NEW)|Done|crash|Exception|FAIL|Tests run|Finding|reproducer" | tail -4 || true
done
