# One CMD, ENTRYPOINT and HEALTHCHECK per stage: the test stage and the release stage each have their own CMD.
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS test
WORKDIR /src
COPY . /src/
CMD ["go", "test", "./..."]
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS release
COPY bin/app /usr/local/bin/app
# quiet: multiple-cmd-entrypoint-healthcheck
HEALTHCHECK --interval=30s CMD ["/usr/local/bin/app", "health"]
USER 10001
# quiet: multiple-cmd-entrypoint-healthcheck
ENTRYPOINT ["/usr/local/bin/app"]
# quiet: multiple-cmd-entrypoint-healthcheck
CMD ["serve", "--port", "8080"]
