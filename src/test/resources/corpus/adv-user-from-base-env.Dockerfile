# The user comes from a value that keeps a variable the base image may set: BuildKit's User may be 0.
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
ENV U=${PATH:+0}
# expect: final-user-unresolved
USER $U
