# Kafka Connect with the connectors the data platform runs: CDC from PostgreSQL, JDBC sink, S3 archive.
ARG CP_VERSION=7.7.1
FROM confluentinc/cp-kafka-connect:${CP_VERSION}

ENV CONNECT_PLUGIN_PATH="/usr/share/java,/usr/share/confluent-hub-components" \
    CONNECT_CONFIG_PROVIDERS="file" \
    CONNECT_CONFIG_PROVIDERS_FILE_CLASS="org.apache.kafka.common.config.provider.FileConfigProvider"

USER root
RUN confluent-hub install --no-prompt debezium/debezium-connector-postgresql:2.5.4 \
 && confluent-hub install --no-prompt confluentinc/kafka-connect-jdbc:10.7.6 \
 && confluent-hub install --no-prompt confluentinc/kafka-connect-s3:10.5.13 \
 && confluent-hub install --no-prompt confluentinc/connect-transforms:1.4.7 \
 && rm -rf /tmp/confluent-hub-*

COPY --chown=appuser:appuser jars/postgresql-42.7.4.jar \
     /usr/share/confluent-hub-components/confluentinc-kafka-connect-jdbc/lib/
COPY connect-log4j.properties /etc/kafka/connect-log4j.properties
COPY --chmod=0755 scripts/register-connectors.sh /usr/local/bin/register-connectors

LABEL com.acme.owner="data-platform" \
      com.acme.component="kafka-connect"

USER appuser
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s \
  CMD curl -fs http://localhost:8083/connectors > /dev/null || exit 1
