# Test steps that say they get no network: RUN --network=none, and the same in an ONBUILD RUN trigger.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /srv/app
COPY . /srv/app/
# quiet: run-network-host
RUN --network=none make test
# expect: onbuild-trigger
# quiet: run-network-host
ONBUILD RUN --network=none make -C /srv/app test
HEALTHCHECK CMD ["/bin/true"]
USER 1000
