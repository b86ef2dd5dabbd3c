# A base image for the team's services: its ONBUILD triggers copy and build, which Docker allows (and onbuild-trigger lists).
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /srv/app
# expect: onbuild-trigger
# quiet: onbuild-misuse
ONBUILD COPY . /srv/app/
# expect: onbuild-trigger
# quiet: onbuild-misuse
ONBUILD RUN make -C /srv/app install
HEALTHCHECK CMD ["/bin/true"]
USER 1000
