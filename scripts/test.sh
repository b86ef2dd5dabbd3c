#!/usr/bin/env bash
# make test: bring up a test environment of its own (registry :5001, a user-namespaced build host, and a plain
# daemon without user namespaces for the refusal test), run `mvn verify`, and stop what was started, pass or fail.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
trap 'scripts/env.sh down test' EXIT
scripts/env.sh up test --plain-host
# shellcheck disable=SC1091
source .state/test/env.sh
export BGW_TEST_ENV=$ROOT/.state/test/env.sh
mvn -B verify "$@"
