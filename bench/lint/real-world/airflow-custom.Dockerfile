# Airflow with the providers and system packages our DAGs need (JDBC via Java, MSSQL via FreeTDS, Kerberos).
FROM apache/airflow:2.10.2-python3.11

USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
         openjdk-17-jre-headless \
         freetds-bin \
         krb5-user \
         ldap-utils \
         libsasl2-modules-gssapi-mit \
  && apt-get autoremove -yqq --purge \
  && apt-get clean \
  && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    KRB5_CONFIG=/etc/krb5.conf

COPY krb5.conf /etc/krb5.conf

USER airflow
COPY --chown=airflow:root requirements-airflow.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
