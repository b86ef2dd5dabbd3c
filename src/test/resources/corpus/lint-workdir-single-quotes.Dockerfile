# Single quotes are removed like double quotes before WORKDIR is judged.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR '/usr/local'
# expect: relative-workdir
WORKDIR 'app'
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
