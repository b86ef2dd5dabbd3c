# The registry says the base has no ONBUILD triggers: judged, and quiet.
# base-triggers: none
# quiet: base-image-triggers
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN echo hello > /hello
HEALTHCHECK CMD ["/bin/true"]
USER 1000
