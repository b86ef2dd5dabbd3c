# FROM --platform with a constant (DL3029) against one taken from BuildKit's platform arguments.
# quiet: from-platform-flag
FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/base/golang:1.22@sha256:abababababababababababababababababababababababababababababababab AS build
RUN echo built > /out
# expect: from-platform-flag
FROM --platform=linux/amd64 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY --from=build /out /out
HEALTHCHECK CMD ["/bin/true"]
USER 1000
