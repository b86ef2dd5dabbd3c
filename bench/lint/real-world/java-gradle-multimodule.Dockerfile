# Inventory API, a multi-module Gradle build. Only the :api module ends up in the image.
FROM gradle:8.10.2-jdk17 AS deps
WORKDIR /home/gradle/project
COPY settings.gradle.kts build.gradle.kts gradle.properties ./
COPY gradle/ gradle/
COPY api/build.gradle.kts api/
COPY core/build.gradle.kts core/
COPY persistence/build.gradle.kts persistence/
RUN --mount=type=cache,target=/home/gradle/.gradle/caches,uid=1000,gid=1000 \
    gradle --no-daemon --console=plain :api:dependencies > /dev/null

FROM deps AS build
COPY --chown=gradle:gradle . .
RUN --mount=type=cache,target=/home/gradle/.gradle/caches,uid=1000,gid=1000 \
    gradle --no-daemon --console=plain :api:bootJar -x test \
    && cp api/build/libs/api-*.jar /tmp/app.jar

FROM build AS test
RUN --mount=type=cache,target=/home/gradle/.gradle/caches,uid=1000,gid=1000 \
    gradle --no-daemon --console=plain test

FROM eclipse-temurin:17-jre-alpine
RUN apk add --no-cache tzdata=2024b-r0 \
    && addgroup -S -g 1001 app \
    && adduser -S -u 1001 -G app -h /opt/app app
WORKDIR /opt/app
COPY --from=build --chown=app:app /tmp/app.jar app.jar
ENV TZ=Europe/Berlin
USER 1001:1001
EXPOSE 8081
HEALTHCHECK --interval=20s --timeout=5s CMD wget -qO- http://127.0.0.1:8081/health || exit 1
ENTRYPOINT ["java", "-XX:+UseContainerSupport", "-jar", "/opt/app/app.jar"]
