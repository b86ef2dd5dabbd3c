# The deny list of the policy (strict-images: '*/base/evil*', a glob) refuses an image under an approved prefix; the
# approved images beside it are judged and pass (the final stage copies from both stages, so both are built).
# policy: strict-images
# quiet: denied-image unapproved-image
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS build
RUN echo built > /out
# expect: denied-image image-not-pinned
FROM 127.0.0.1:5000/base/evil-tools:1.0 AS tools
# quiet: denied-image
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
LABEL org.opencontainers.image.source=https://git.corp.example/payments/app
COPY --from=build /out /out
COPY --from=tools /usr/bin/tool /usr/bin/tool
HEALTHCHECK CMD ["/bin/true"]
USER 1000
