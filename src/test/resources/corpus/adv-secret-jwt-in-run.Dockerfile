# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: secret-in-label-or-run
RUN echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc > /token
USER 1000
