FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
RUN go version > /version.txt
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY --from=build /version.txt /app/version.txt
COPY --from=0 /version.txt /app/version0.txt
# expect: copy-from-unknown-stage unapproved-image image-not-pinned image-latest-tag
COPY --from=builder /version.txt /app/version1.txt
# expect: copy-from-unknown-stage
COPY --from=1 /etc/hostname /app/self.txt
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
