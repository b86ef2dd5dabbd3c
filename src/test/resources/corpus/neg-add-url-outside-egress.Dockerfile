# ADD of a URL that the egress allowlist admits (the corpus policy "egress" lists https://mirror.corp.example/releases/
# for every team), checked by digest; one outside it beside it is refused.
# policy: egress
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: add-url-outside-egress
ADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://mirror.corp.example/releases/tool-1.4.2.tar.gz /opt/tool.tar.gz
# expect: add-url-outside-egress
ADD --checksum=sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210 https://downloads.example.org/tool-1.4.2.tar.gz /opt/other.tar.gz
HEALTHCHECK CMD ["/bin/true"]
USER 1000
