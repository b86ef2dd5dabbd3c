# Downloads that no shell runs unchecked: an archive piped into tar, an installer verified before sh runs it.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# quiet: curl-pipe-shell
RUN curl -fsSL https://downloads.example.com/tool/1.4.2/tool-1.4.2-linux-amd64.tar.gz | tar -xz -C /usr/local/bin tool
# quiet: curl-pipe-shell
RUN curl -fsSLo /tmp/install.sh https://downloads.example.com/agent/2.1.0/install.sh && echo "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef  /tmp/install.sh" | sha256sum -c - && sh /tmp/install.sh --prefix /opt/agent && rm -f /tmp/install.sh
HEALTHCHECK CMD ["/bin/true"]
USER 1000
