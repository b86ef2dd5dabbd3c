FROM alpine:3.20.3
ARG KUBECTL_VERSION=1.31.1
ARG HELM_VERSION=3.16.1
ARG YQ_VERSION=4.44.3
RUN apk add --no-cache \
      bash=5.2.26-r0 \
      ca-certificates \
      curl \
      git \
      jq \
      openssh-client \
      gettext \
    && curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/amd64/kubectl" \
    && chmod 0755 /usr/local/bin/kubectl \
    && curl -fsSL "https://get.helm.sh/helm-v${HELM_VERSION}-linux-amd64.tar.gz" | tar -xz --strip-components=1 -C /usr/local/bin linux-amd64/helm \
    && wget -q -O /usr/local/bin/yq "https://github.com/mikefarah/yq/releases/download/v${YQ_VERSION}/yq_linux_amd64" \
    && chmod +x /usr/local/bin/yq \
    && kubectl version --client \
    && helm version \
    && yq --version
RUN adduser -D -u 1000 deployer
USER deployer
WORKDIR /home/deployer
ENTRYPOINT ["/bin/bash", "-c"]
CMD ["kubectl version --client"]
