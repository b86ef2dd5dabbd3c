FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
# expect: default-shell-replaced
RUN ln -sf /bin/bash /bin/sh
WORKDIR /app
RUN ln -s /usr/bin/python3 /usr/local/bin/python
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
