# expect: image-not-pinned
FROM 127.0.0.1:5000/base/maven:3.9-jdk17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -q package -DskipTests
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/jre:17
WORKDIR /app
COPY --from=build /src/target/app.jar /app/app.jar
# expect: add-url-outside-egress add-url-without-checksum
ADD https://example.com/tool.tar.gz /opt/
USER 10001
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
