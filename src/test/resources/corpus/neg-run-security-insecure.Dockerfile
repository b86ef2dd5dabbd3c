# RUN --security=sandbox asks for no privileges (the default, said for a test step); the gateway's builder refuses any --security flag.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /srv/app
COPY . /srv/app/
# expect: dockerfile-canonical
# quiet: run-security-insecure
RUN --security=sandbox make test
HEALTHCHECK CMD ["/bin/true"]
USER 1000
