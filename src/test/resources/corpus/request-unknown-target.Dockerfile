# The request's target names no stage: refused, as it would build something other than what was reviewed.
# target: debug
# expect-file: unknown-target
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS build
RUN echo built > /out
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS runtime
COPY --from=build /out /out
HEALTHCHECK CMD ["/bin/true"]
USER 1000
