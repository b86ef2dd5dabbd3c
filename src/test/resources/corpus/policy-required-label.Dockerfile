# The policy requires org.opencontainers.image.source (strict-images): the final image has another label only (the
# finding is at the final stage's FROM); the builder stage's label is not in the image.
# policy: strict-images
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS build
LABEL org.opencontainers.image.source=https://git.corp.example/payments/build
RUN echo built > /out
# expect: missing-required-label
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
LABEL org.opencontainers.image.title=app
COPY --from=build /out /out
HEALTHCHECK CMD ["/bin/true"]
USER 1000
