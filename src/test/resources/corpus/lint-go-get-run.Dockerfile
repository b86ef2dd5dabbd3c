# go get and go run download a module like go install: unpinned, they are flagged; local packages are not.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: go-install-unpinned
RUN go get github.com/example/lib
# expect: go-install-unpinned consecutive-run
RUN go run github.com/example/gen -out /tmp/gen.go
# expect: consecutive-run
RUN go get github.com/example/lib@v1.4.2
# expect: consecutive-run
RUN go run github.com/example/gen@v0.3.0 -out /tmp/gen.go
# expect: consecutive-run
RUN go run ./cmd/gen -out /tmp/gen.go
# expect: consecutive-run
RUN go install .
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
