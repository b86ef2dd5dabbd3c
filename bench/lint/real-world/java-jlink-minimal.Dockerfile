# A custom runtime with jlink: only the modules the service needs.
FROM eclipse-temurin:21-jdk-alpine AS jre-build
RUN apk add --no-cache binutils
RUN $JAVA_HOME/bin/jlink \
      --add-modules java.base,java.logging,java.naming,java.net.http,java.sql,jdk.crypto.ec,jdk.unsupported,java.management \
      --strip-debug \
      --no-man-pages \
      --no-header-files \
      --compress=zip-6 \
      --output /javaruntime

FROM maven:3.9-eclipse-temurin-21-alpine AS app-build
WORKDIR /src
COPY pom.xml .
RUN --mount=type=cache,id=m2,target=/root/.m2 mvn -B -ntp dependency:go-offline
COPY src src
RUN --mount=type=cache,id=m2,target=/root/.m2 mvn -B -ntp -DskipTests verify

FROM alpine:3.20
ENV JAVA_HOME=/opt/java/openjdk
ENV PATH="${JAVA_HOME}/bin:${PATH}"
COPY --from=jre-build /javaruntime $JAVA_HOME
RUN addgroup -g 2000 -S svc && adduser -u 2000 -S -G svc svc
COPY --from=app-build --chown=svc:svc /src/target/notifier.jar /app/notifier.jar
USER svc
WORKDIR /app
CMD ["java", "-jar", "/app/notifier.jar"]
