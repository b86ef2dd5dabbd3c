ARG IMG=127.0.0.1:5000/base/debian:12
# expect: unapproved-image image-not-pinned missing-healthcheck
FROM ${IMG/base/evil}
USER 1000
