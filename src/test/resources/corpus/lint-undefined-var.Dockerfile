ARG VERSION=1.2.3
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS app
# expect: undefined-var
COPY app-${VERSION}.jar /app/app.jar
ARG VERSION
COPY app-${VERSION}.jar /app/app2.jar
ENV JAVA_OPTS="$JAVA_OPTS -Xmx512m"
FROM scratch AS files
# expect: undefined-var
COPY $SRC /files/
ARG SRC=a.txt
COPY $SRC /files/
FROM app
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
