FROM ubuntu:22.04 AS toolchain
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential \
        cmake \
        ninja-build \
        git \
        pkg-config \
        libssl-dev \
        libgrpc++-dev \
        protobuf-compiler-grpc \
        libprotobuf-dev \
        libspdlog-dev \
        libfmt-dev \
    && rm -rf /var/lib/apt/lists/*

FROM toolchain AS build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY proto/ proto/
COPY src/ src/
COPY tests/ tests/
RUN cmake -S . -B build -G Ninja \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_TESTING=ON \
        -DCMAKE_INSTALL_PREFIX=/opt/matcher \
    && cmake --build build --parallel \
    && ctest --test-dir build --output-on-failure \
    && cmake --install build --strip

FROM ubuntu:22.04
RUN apt-get update && apt-get install -y --no-install-recommends \
        libgrpc++1 \
        libprotobuf23 \
        libspdlog1 \
        libfmt8 \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --uid 888 matcher
COPY --from=build /opt/matcher /opt/matcher
USER matcher
EXPOSE 50051
ENTRYPOINT ["/opt/matcher/bin/matcher-server"]
CMD ["--listen=0.0.0.0:50051"]
