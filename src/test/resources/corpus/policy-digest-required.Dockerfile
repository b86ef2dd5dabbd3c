# A prefix of the policy requires digests (strict-images: 127.0.0.1:5000/pinned/): a tag alone is refused there,
# and a digest passes; other prefixes may still use tags.
# policy: strict-images
# expect: image-digest-required image-not-pinned
FROM 127.0.0.1:5000/pinned/jdk:21 AS build
RUN echo built > /out
# quiet: image-digest-required missing-required-label
FROM 127.0.0.1:5000/pinned/jre:21@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
LABEL org.opencontainers.image.source=https://git.corp.example/payments/app
COPY --from=build /out /out
HEALTHCHECK CMD ["/bin/true"]
USER 1000
