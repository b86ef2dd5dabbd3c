# syntax=docker/dockerfile:1.7
# The shared CI runner image: every language toolchain the monorepo's pipelines use, pinned, in one image.
# Rebuilt weekly by the platform team; bump the versions below and open a merge request.

FROM ubuntu:22.04

ARG DEBIAN_FRONTEND=noninteractive
ARG NODE_MAJOR=20
ARG GO_VERSION=1.23.2
ARG JDK_VERSION=17
ARG MAVEN_VERSION=3.9.9
ARG GRADLE_VERSION=8.10.2
ARG PYTHON_VERSION=3.11
ARG TERRAFORM_VERSION=1.9.7
ARG DOCKER_CLI_VERSION=27.3.1
ARG TARGETARCH=amd64

ENV LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    JAVA_HOME=/usr/lib/jvm/java-${JDK_VERSION}-openjdk-${TARGETARCH} \
    MAVEN_HOME=/opt/maven \
    GRADLE_HOME=/opt/gradle \
    GOPATH=/home/runner/go \
    PATH=/usr/local/go/bin:/opt/maven/bin:/opt/gradle/bin:/home/runner/go/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Base packages: build tools, VCS, archives, and what the pipelines' scripts call.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      apt-transport-https \
      build-essential \
      ca-certificates \
      curl \
      git \
      git-lfs \
      gnupg \
      jq \
      lsb-release \
      make \
      openssh-client \
      python${PYTHON_VERSION} \
      python${PYTHON_VERSION}-venv \
      python3-pip \
      rsync \
      shellcheck \
      sudo \
      unzip \
      wget \
      xz-utils \
      zip \
      openjdk-${JDK_VERSION}-jdk-headless

# Node.js from NodeSource's signed repository.
RUN mkdir -p /etc/apt/keyrings \
 && curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor -o /etc/apt/keyrings/nodesource.gpg \
 && echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${NODE_MAJOR}.x nodistro main" > /etc/apt/sources.list.d/nodesource.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && npm install -g --no-fund --no-audit pnpm@9.12.1 yarn@1.22.22 \
 && rm -rf /var/lib/apt/lists/*

# Docker CLI only (the daemon is the job's service).
RUN curl -fsSL "https://download.docker.com/linux/static/stable/x86_64/docker-${DOCKER_CLI_VERSION}.tgz" \
      | tar -xz --strip-components=1 -C /usr/local/bin docker/docker \
 && docker --version

# Go
RUN curl -fsSL "https://go.dev/dl/go${GO_VERSION}.linux-${TARGETARCH}.tar.gz" | tar -C /usr/local -xz \
 && go version

# Maven and Gradle
RUN curl -fsSL "https://archive.apache.org/dist/maven/maven-3/${MAVEN_VERSION}/binaries/apache-maven-${MAVEN_VERSION}-bin.tar.gz" \
      | tar -xz -C /opt \
 && ln -s "/opt/apache-maven-${MAVEN_VERSION}" /opt/maven \
 && curl -fsSLo /tmp/gradle.zip "https://services.gradle.org/distributions/gradle-${GRADLE_VERSION}-bin.zip" \
 && unzip -q /tmp/gradle.zip -d /opt \
 && ln -s "/opt/gradle-${GRADLE_VERSION}" /opt/gradle \
 && rm /tmp/gradle.zip \
 && mvn -v && gradle -v

# Terraform from HashiCorp's releases, checked against the published sums.
RUN cd /tmp \
 && curl -fsSLO "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_linux_${TARGETARCH}.zip" \
 && curl -fsSLO "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_SHA256SUMS" \
 && grep "linux_${TARGETARCH}.zip" "terraform_${TERRAFORM_VERSION}_SHA256SUMS" | sha256sum -c - \
 && unzip -q "terraform_${TERRAFORM_VERSION}_linux_${TARGETARCH}.zip" -d /usr/local/bin \
 && rm -f terraform_* \
 && terraform version

# Python tools used by the pipelines.
RUN python${PYTHON_VERSION} -m pip install --no-cache-dir \
      pre-commit==3.8.0 \
      yamllint==1.35.1 \
      ansible-core==2.17.4 \
      awscli==1.34.30

# The unprivileged runner user; sudo only for apt-get.
RUN groupadd --gid 1001 runner \
 && useradd --uid 1001 --gid runner --shell /bin/bash --create-home runner \
 && echo "runner ALL=(root) NOPASSWD: /usr/bin/apt-get" > /etc/sudoers.d/runner \
 && chmod 0440 /etc/sudoers.d/runner \
 && mkdir -p /home/runner/go /home/runner/.m2 /home/runner/.gradle \
 && chown -R runner:runner /home/runner

COPY --chown=runner:runner config/settings.xml /home/runner/.m2/settings.xml
COPY --chown=runner:runner config/gradle.properties /home/runner/.gradle/gradle.properties
COPY --chown=runner:runner config/npmrc /home/runner/.npmrc

LABEL org.opencontainers.image.title="ci-runner" \
      org.opencontainers.image.description="Polyglot CI runner: JDK, Maven, Gradle, Node, Go, Python, Terraform" \
      com.acme.owner="platform-team"

USER runner
WORKDIR /home/runner/work
CMD ["bash"]
