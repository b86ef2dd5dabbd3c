# An ONBUILD RUN trigger keeps its own flags: a cache mount on the apt lists counts, an SSH mount is refused.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: onbuild-trigger
ONBUILD RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10
# expect: onbuild-trigger run-mount-ssh
ONBUILD RUN --mount=type=ssh git clone git@git.example:team/repo.git /src
# expect: onbuild-trigger apt-lists-not-cleaned
ONBUILD RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
