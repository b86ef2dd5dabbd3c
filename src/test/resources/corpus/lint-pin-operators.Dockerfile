# Pins as hadolint accepts them per manager: any PEP 440 specifier for pip; '=' or '~' for apk (a bare < is not);
# =, >=, >, <=, < for zypper.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN pip install --no-cache-dir 'flask~=3.0' 'jinja2<4' 'click>=8' 'idna!=3.0' 'six===1.16.0'
# expect: consecutive-run
RUN apk add --no-cache curl~8.5 'musl>=1.2' zlib=1.3.1-r0
# expect: consecutive-run
RUN zypper in -y 'curl>=8' 'vim<10' && zypper clean
# expect: apk-unpinned consecutive-run
RUN apk add --no-cache 'busybox<2'
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
