# Only ARG before the first FROM: the base's tag and digest, used by FROM.
# quiet: instruction-before-from
ARG DEBIAN_TAG=12
# quiet: instruction-before-from
ARG DEBIAN_DIGEST=sha256:abababababababababababababababababababababababababababababababab
FROM 127.0.0.1:5000/base/debian:${DEBIAN_TAG}@${DEBIAN_DIGEST}
HEALTHCHECK CMD ["/bin/true"]
USER 1000
