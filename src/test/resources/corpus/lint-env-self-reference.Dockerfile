FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ENV APP_HOME=/opt/app
# expect: env-self-reference
ENV BASE=/srv BIN=$BASE/bin
ENV LIB=$APP_HOME/lib PATH=/opt/app/bin:$PATH
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
