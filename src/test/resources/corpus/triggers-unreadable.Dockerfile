# The registry cannot say what ONBUILD triggers the base carries: the build is refused rather than judged on a guess.
# base-triggers: unreadable
# expect: base-image-triggers
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN echo hello > /hello
HEALTHCHECK CMD ["/bin/true"]
USER 1000
