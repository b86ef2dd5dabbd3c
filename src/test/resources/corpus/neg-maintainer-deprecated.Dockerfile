# Who maintains the image, said with labels (OCI authors, and the maintainer label MAINTAINER becomes) rather than MAINTAINER.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: maintainer-deprecated
LABEL org.opencontainers.image.authors="payments-platform@corp.example"
# quiet: maintainer-deprecated
LABEL maintainer="Payments Platform <payments-platform@corp.example>"
HEALTHCHECK CMD ["/bin/true"]
USER 1000
