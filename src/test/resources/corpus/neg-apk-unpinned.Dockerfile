# apk add with every package constrained: an exact version, a ~ constraint, a quoted >= bound, and a local .apk file.
FROM 127.0.0.1:5000/base/alpine:3.19@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
# quiet: apk-unpinned
RUN apk add --no-cache ca-certificates=20240226-r0 tzdata~2024a 'musl-utils>=1.2.4'
COPY packages/app-tools-1.4.2-r0.apk /tmp/app-tools-1.4.2-r0.apk
# quiet: apk-unpinned
RUN apk add --no-cache /tmp/app-tools-1.4.2-r0.apk && rm -f /tmp/app-tools-1.4.2-r0.apk
HEALTHCHECK CMD ["/bin/true"]
USER 1000
