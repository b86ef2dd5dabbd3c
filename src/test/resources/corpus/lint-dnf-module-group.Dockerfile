# A module is pinned by its stream (name:stream); a group names no package version.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN yum module install -y tomcat:9 && yum clean all
# expect: consecutive-run
RUN dnf group install -y "Development Tools" && dnf clean all
# expect: consecutive-run
RUN dnf install -y @development-tools && dnf clean all
# expect: yum-dnf-unpinned consecutive-run
RUN dnf module install -y nodejs && dnf clean all
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
