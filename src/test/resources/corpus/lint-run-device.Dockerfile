# RUN --device hands a host device to a step; a RUN with other BuildKit flags (a cache mount) is judged and passes.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: run-device
RUN --mount=type=cache,target=/root/.cache echo cached > /out
# expect: run-device
RUN --device=/dev/fuse echo fuse >> /out
HEALTHCHECK CMD ["/bin/true"]
USER 1000
