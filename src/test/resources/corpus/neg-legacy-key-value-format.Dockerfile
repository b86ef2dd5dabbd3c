# ENV and LABEL in key=value form: several pairs in one instruction, and a value with spaces in quotes.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: legacy-key-value-format
ENV APP_HOME=/srv/app LANG=C.UTF-8
# quiet: legacy-key-value-format
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
# quiet: legacy-key-value-format
LABEL org.opencontainers.image.title="payments-api"
WORKDIR $APP_HOME
HEALTHCHECK CMD ["/bin/true"]
USER 1000
