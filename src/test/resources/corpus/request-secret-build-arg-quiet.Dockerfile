# Build args that are no secrets: the rule judges each and is quiet.
# buildarg: VERSION=1.2.3
# buildarg: RELEASE_CHANNEL=stable
# quiet-file: secret-build-arg
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG VERSION
ARG RELEASE_CHANNEL
RUN echo $VERSION $RELEASE_CHANNEL > /version
HEALTHCHECK CMD ["/bin/true"]
USER 1000
