# Sourced by the bench scripts that run a Java helper against the gateway's classes.
# bench_classpath: prints target/classes and the dependency classpath (run from the project's root). Offline, as
# every Maven run here; the classpath goes to a file, not through Maven's (coloured) console output, whose ANSI escape
# codes once ended up at the start of the classpath. A classpath with a non-printable character stops the bench.
# Online once when offline fails: on a fresh machine the dependency plugin itself has not been downloaded yet (the
# build never needs it), and `mvn -o` then refuses before it prints anything.
bench_classpath() {
  local file cp
  file=$(mktemp)
  mvn -o -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$file" >/dev/null 2>&1 \
    || mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$file" >/dev/null
  cp=target/classes:$(cat "$file")
  rm -f "$file"
  if printf '%s' "$cp" | LC_ALL=C grep -q '[^[:print:]]'; then
    echo "the dependency classpath has non-printable characters: $cp" >&2
    return 1
  fi
  printf '%s' "$cp"
}
