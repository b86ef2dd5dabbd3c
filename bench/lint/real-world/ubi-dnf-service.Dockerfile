FROM registry.access.redhat.com/ubi9/ubi:9.4 AS build
RUN dnf -y install --setopt=install_weak_deps=False --nodocs \
        gcc \
        make \
        openssl-devel \
        zlib-devel \
        git \
    && dnf clean all \
    && rm -rf /var/cache/dnf
WORKDIR /src
COPY . .
RUN ./configure --prefix=/opt/relay --with-openssl \
    && make -j"$(nproc)" \
    && make install DESTDIR=/staging

FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4
RUN microdnf -y install --nodocs --setopt=install_weak_deps=0 openssl-libs zlib shadow-utils \
    && microdnf clean all \
    && useradd -r -u 1001 -g 0 -d /opt/relay -s /sbin/nologin relay
COPY --from=build --chown=1001:0 /staging/opt/relay /opt/relay
RUN chmod -R g=u /opt/relay
ENV PATH=/opt/relay/bin:$PATH
USER 1001
EXPOSE 5671
CMD ["relayd", "--foreground", "--config", "/opt/relay/etc/relayd.conf"]
