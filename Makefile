# Build Gateway: two commands (as root on Debian 12).
#   make run   install what is missing, start the local environment and the gateway on :8080
#   make test  the whole suite against a real environment of its own (stopped again afterwards)
.PHONY: run stop test package bench clean

run:
	@scripts/run.sh

stop:
	@scripts/env.sh down run

test:
	@scripts/test.sh

package:
	@mvn -q -B -DskipTests package

bench:
	@bench/build-vs-direct.sh

clean: stop
	rm -rf target .state
