# The ticketing monolith: Java backend, PHP admin, cron jobs and a mail relay under supervisord in one container.
# Scheduled to be split up; until then this is what production runs.
FROM debian:bullseye

ENV DEBIAN_FRONTEND=noninteractive
ENV APP_HOME=/opt/ticketing
ENV JAVA_OPTS="-Xms512m -Xmx2g -Dfile.encoding=UTF-8"
ENV DB_HOST=db.internal
ENV DB_PASSWORD=changeme
ENV SMTP_RELAY=mail.internal:25

RUN apt-get update
RUN apt-get install -y openjdk-11-jre-headless
RUN apt-get install -y apache2 libapache2-mod-php php php-mysql php-xml php-curl php-intl
RUN apt-get install -y supervisor cron postfix mailutils
RUN apt-get install -y curl wget vim less net-tools iputils-ping sudo
RUN apt-get install -y mariadb-client

RUN mkdir -p $APP_HOME/bin $APP_HOME/conf $APP_HOME/logs $APP_HOME/data \
    && mkdir -p /var/log/supervisor \
    && mkdir -p /var/www/admin

WORKDIR $APP_HOME

ADD build/ticketing-server.jar $APP_HOME/bin/
ADD build/ticketing-cli.jar $APP_HOME/bin/
ADD conf/ $APP_HOME/conf/
ADD admin/ /var/www/admin/
ADD docker/apache-admin.conf /etc/apache2/sites-available/admin.conf
ADD docker/supervisord.conf /etc/supervisor/conf.d/ticketing.conf
ADD docker/postfix-main.cf /etc/postfix/main.cf
ADD docker/crontab /etc/cron.d/ticketing

RUN a2dissite 000-default && a2ensite admin && a2enmod rewrite headers
RUN chmod 0644 /etc/cron.d/ticketing && crontab /etc/cron.d/ticketing
RUN sed -i "s/^relayhost =.*/relayhost = [${SMTP_RELAY}]/" /etc/postfix/main.cf
RUN chown -R www-data:www-data /var/www/admin
RUN chmod 777 $APP_HOME/logs $APP_HOME/data

RUN wget -q https://repo1.maven.org/maven2/org/mariadb/jdbc/mariadb-java-client/3.4.1/mariadb-java-client-3.4.1.jar -O $APP_HOME/bin/mariadb-java-client.jar

RUN echo '#!/bin/bash' > /usr/local/bin/ticketing-cli \
    && echo 'exec java $JAVA_OPTS -jar /opt/ticketing/bin/ticketing-cli.jar "$@"' >> /usr/local/bin/ticketing-cli \
    && chmod +x /usr/local/bin/ticketing-cli

RUN cd /tmp && curl -sO https://downloads.example.org/fonts/corporate-fonts.tar.gz && tar xzf corporate-fonts.tar.gz -C /usr/share/fonts && rm corporate-fonts.tar.gz

EXPOSE 8080 80 25
VOLUME ["/opt/ticketing/data", "/opt/ticketing/logs"]

HEALTHCHECK --interval=1m --timeout=10s CMD curl -f http://localhost:8080/status && curl -f http://localhost/admin/ping.php || exit 1

CMD ["/usr/bin/supervisord", "-n"]
