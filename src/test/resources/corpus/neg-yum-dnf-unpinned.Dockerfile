# RPM installs that pin: name-version and a local .rpm in one install, and a module by its stream.
FROM 127.0.0.1:5000/base/rockylinux:9@sha256:7878787878787878787878787878787878787878787878787878787878787878
COPY rpms/vendor-agent-4.2.1-1.el9.x86_64.rpm /tmp/
# quiet: yum-dnf-unpinned package-cache-not-cleaned
RUN dnf install -y nginx-1.20.1-14.el9_2.1 /tmp/vendor-agent-4.2.1-1.el9.x86_64.rpm && dnf clean all && rm -f /tmp/vendor-agent-4.2.1-1.el9.x86_64.rpm
# quiet: yum-dnf-unpinned
RUN dnf module install -y nodejs:20/common && dnf clean all
HEALTHCHECK CMD ["/usr/bin/vendor-agent", "status"]
USER 1000
