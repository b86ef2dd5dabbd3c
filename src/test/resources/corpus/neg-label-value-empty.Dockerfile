# Labels that all carry a value: literal ones, a quoted one with spaces, and one from a stage ARG with a default.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG RELEASE_CHANNEL=stable
# quiet: label-value-empty
LABEL org.opencontainers.image.title="payments-api" org.opencontainers.image.description="Payments API for the retail channel"
# quiet: label-value-empty
LABEL com.corp.release-channel=$RELEASE_CHANNEL
HEALTHCHECK CMD ["/bin/true"]
USER 1000
