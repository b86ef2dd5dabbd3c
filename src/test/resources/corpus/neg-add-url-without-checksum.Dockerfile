# ADD of a URL pinned with --checksum, and an ADD source from a variable whose value is known before the build.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /opt/tool
# expect: add-url-outside-egress
# quiet: add-url-without-checksum
ADD --checksum=sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef https://downloads.example.com/tool/1.4.2/tool-1.4.2-linux-amd64.tar.gz /opt/tool/
ARG BUNDLE=dist/app-bundle-1.4.2.tar.gz
# quiet: add-url-without-checksum
ADD ${BUNDLE} /opt/app/
HEALTHCHECK CMD ["/bin/true"]
USER 1000
