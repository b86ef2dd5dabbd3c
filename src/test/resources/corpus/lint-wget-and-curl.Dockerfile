FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY tools/ /tools/
# expect: wget-and-curl
RUN wget -q -O /tmp/a file:///tools/a
WORKDIR /app
RUN curl -fsS -o /tmp/b file:///tools/b
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
