# syntax=docker/dockerfile:1.7
# Orders service: Spring Boot, built with Maven, run on a JRE-only image.

ARG JAVA_VERSION=21
ARG MAVEN_VERSION=3.9.9

FROM maven:${MAVEN_VERSION}-eclipse-temurin-${JAVA_VERSION} AS build
WORKDIR /workspace

# Resolve dependencies first so that they are cached between source changes.
COPY pom.xml .
COPY .mvn/ .mvn/
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q dependency:go-offline -DexcludeReactor=true

COPY src/ src/
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q package -DskipTests \
 && mkdir -p target/extracted \
 && java -Djarmode=layertools -jar target/*.jar extract --destination target/extracted

FROM eclipse-temurin:${JAVA_VERSION}-jre-jammy AS runtime
ARG APP_USER=orders
ARG APP_UID=10001

LABEL org.opencontainers.image.title="orders-service" \
      org.opencontainers.image.vendor="ACME Payments" \
      org.opencontainers.image.source="https://git.example.com/payments/orders"

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      curl=7.81.0-1ubuntu1.16 \
      tini=0.19.0-1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid ${APP_UID} ${APP_USER} \
 && useradd --system --uid ${APP_UID} --gid ${APP_USER} --no-log-init --home-dir /app ${APP_USER}

WORKDIR /app
COPY --from=build --chown=${APP_USER}:${APP_USER} /workspace/target/extracted/dependencies/ ./
COPY --from=build --chown=${APP_USER}:${APP_USER} /workspace/target/extracted/spring-boot-loader/ ./
COPY --from=build --chown=${APP_USER}:${APP_USER} /workspace/target/extracted/snapshot-dependencies/ ./
COPY --from=build --chown=${APP_USER}:${APP_USER} /workspace/target/extracted/application/ ./

ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError" \
    SPRING_PROFILES_ACTIVE=prod \
    SERVER_PORT=8080

EXPOSE 8080
USER ${APP_USER}

HEALTHCHECK --interval=30s --timeout=3s --start-period=40s --retries=3 \
  CMD curl -fsS http://localhost:8080/actuator/health/liveness || exit 1

ENTRYPOINT ["/usr/bin/tini", "--", "java", "org.springframework.boot.loader.launch.JarLauncher"]
