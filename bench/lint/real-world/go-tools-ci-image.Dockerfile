# CI toolbox: linters and code generators pinned for every Go repository of the team.
FROM golang:1.23.2-bookworm

ARG GOLANGCI_LINT_VERSION=v1.61.0
ARG BUF_VERSION=1.45.0
ARG PROTOC_VERSION=28.2

ENV GOFLAGS=-mod=mod \
    CGO_ENABLED=0

RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        unzip \
        jq \
        make \
        git \
        openssh-client; \
    rm -rf /var/lib/apt/lists/*

RUN set -eux; \
    curl -fsSLo /tmp/protoc.zip "https://github.com/protocolbuffers/protobuf/releases/download/v${PROTOC_VERSION}/protoc-${PROTOC_VERSION}-linux-x86_64.zip"; \
    unzip -q /tmp/protoc.zip -d /usr/local bin/protoc 'include/*'; \
    rm /tmp/protoc.zip; \
    protoc --version

RUN curl -sSfL https://raw.githubusercontent.com/golangci/golangci-lint/master/install.sh | sh -s -- -b /usr/local/bin ${GOLANGCI_LINT_VERSION}

RUN curl -sSL "https://github.com/bufbuild/buf/releases/download/v${BUF_VERSION}/buf-Linux-x86_64" -o /usr/local/bin/buf \
    && chmod +x /usr/local/bin/buf

RUN go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.34.2 \
    && go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1 \
    && go install github.com/vektra/mockery/v2@v2.46.2 \
    && go install golang.org/x/vuln/cmd/govulncheck@latest \
    && go clean -cache -modcache

WORKDIR /workspace
CMD ["bash"]
