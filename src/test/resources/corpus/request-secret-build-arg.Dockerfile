# A build arg whose name looks like a secret is refused (the value is never echoed); VERSION beside it is not.
# buildarg: DB_PASSWORD=hunter2hunter2
# buildarg: VERSION=1.2.3
# expect-file: secret-build-arg
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG VERSION
# expect: secret-in-arg-or-env
ARG DB_PASSWORD
RUN echo $VERSION > /version
HEALTHCHECK CMD ["/bin/true"]
USER 1000
