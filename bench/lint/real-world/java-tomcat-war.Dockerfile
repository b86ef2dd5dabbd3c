FROM maven:3.8.7-openjdk-18-slim AS build
WORKDIR /usr/src/app
COPY pom.xml .
RUN mvn -B -e -C dependency:go-offline
COPY src ./src
RUN mvn -B -e -o clean package -DskipTests

FROM tomcat:10.1-jdk17-temurin
LABEL maintainer="platform@example.com"
RUN rm -rf /usr/local/tomcat/webapps/* \
    && apt-get update \
    && apt-get install -y --no-install-recommends fontconfig libfreetype6 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/src/app/target/reporting.war /usr/local/tomcat/webapps/ROOT.war
COPY conf/server.xml /usr/local/tomcat/conf/server.xml
COPY conf/context.xml /usr/local/tomcat/conf/context.xml
RUN groupadd -r tomcat && useradd -r -g tomcat -d /usr/local/tomcat -s /sbin/nologin tomcat \
    && chown -R tomcat:tomcat /usr/local/tomcat
ENV CATALINA_OPTS="-Xms256m -Xmx1024m -Djava.security.egd=file:/dev/./urandom"
USER tomcat
EXPOSE 8080
CMD ["catalina.sh", "run"]
