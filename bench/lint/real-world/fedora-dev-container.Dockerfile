FROM fedora:40
ENV LANG=en_US.UTF-8
RUN dnf install -y \
        @development-tools \
        cmake \
        ninja-build \
        clang \
        clang-tools-extra \
        lldb \
        python3-pip \
        git-lfs \
        sudo \
        zsh \
    && dnf clean all
RUN pip3 install --no-cache-dir conan==2.7.1 pre-commit==3.8.0
ARG USERNAME=dev
ARG USER_UID=1000
ARG USER_GID=$USER_UID
RUN groupadd --gid $USER_GID $USERNAME \
    && useradd --uid $USER_UID --gid $USER_GID -m $USERNAME -s /bin/zsh \
    && echo "$USERNAME ALL=(root) NOPASSWD:ALL" > /etc/sudoers.d/$USERNAME \
    && chmod 0440 /etc/sudoers.d/$USERNAME
USER $USERNAME
WORKDIR /workspaces
