# zypper install (DL3037): a bare name is unpinned; =, >= and a local .rpm are pins.
FROM 127.0.0.1:5000/base/opensuse:15.6@sha256:abababababababababababababababababababababababababababababababab
# expect: zypper-unpinned
RUN zypper install -y curl && zypper clean
# quiet: zypper-unpinned
# expect: consecutive-run
RUN zypper in -y 'vim=9.1' 'git>=2.43' /tmp/local.rpm && zypper clean
HEALTHCHECK CMD ["/bin/true"]
USER 1000
