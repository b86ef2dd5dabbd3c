#!/usr/bin/env bash
# make test: bring up a test environment of its own (registry :5001, a user-namespaced build host, and a plain
# daemon without user namespaces for the refusal test), run the whole suite, and stop what was started, pass or fail.
#
# Two steps share the two cores: while the environment starts (daemons, base images, mirrors: a minute or two), Maven
# compiles and runs the unit tests and fuzz seeds, which need no services. The integration tests start once both are
# done. Packages are installed first, alone: apt and Maven's downloads do not race for the network.
#
# The integration tests run in two JVMs at once (failsafe's forkCount, -Dit.forks=1 for one): each has its own
# gateway, embedded PostgreSQL and data folder, and both share the environment. Much of an integration test's time is
# waiting (for a daemon, a lease, a deadline), so the second JVM uses what the first leaves of the two cores. The few
# classes that stop a part of the environment (the registry, the host's daemon) or empty its build cache run alone,
# and those that re-point the egress relay one at a time (support.EnvironmentUse, EnvironmentLocks).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
trap 'scripts/env.sh down test' EXIT
scripts/env.sh install test
mkdir -p .state
ENV_LOG=.state/test-env-up.log
scripts/env.sh up test --plain-host >"$ENV_LOG" 2>&1 &
env_pid=$!
mvn_rc=0
mvn -B package "$@" || mvn_rc=$?
env_rc=0
wait "$env_pid" || env_rc=$?
cat "$ENV_LOG"
if [ "$env_rc" -ne 0 ]; then
  echo "make test: the test environment did not start (exit $env_rc); its log is above" >&2
  exit "$env_rc"
fi
[ "$mvn_rc" -eq 0 ] || exit "$mvn_rc"
# shellcheck disable=SC1091
source .state/test/env.sh
export BGW_TEST_ENV=$ROOT/.state/test/env.sh
mvn -B failsafe:integration-test failsafe:verify "$@"
