# The build's shell changed with SHELL; ln links other files, and nothing is linked over /bin/sh.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# quiet: default-shell-replaced
RUN ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime
COPY bin/app /opt/app/bin/app
# quiet: default-shell-replaced
RUN ln -s /opt/app/bin/app /usr/local/bin/app
HEALTHCHECK CMD ["/bin/true"]
USER 1000
