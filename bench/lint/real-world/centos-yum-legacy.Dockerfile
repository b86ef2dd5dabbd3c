# Intranet portal, inherited from the old data centre. Kept running until the rewrite ships.
FROM centos:7
MAINTAINER ops@example.com

ENV container docker
ENV PHP_MEMORY_LIMIT 256M

RUN yum -y update && yum -y install epel-release
RUN yum -y install httpd mod_ssl php php-mysql php-gd php-ldap php-mbstring supervisor cronie
RUN yum clean all

ADD conf/httpd.conf /etc/httpd/conf/httpd.conf
ADD conf/ssl.conf /etc/httpd/conf.d/ssl.conf
ADD conf/supervisord.conf /etc/supervisord.conf
ADD conf/php.ini /etc/php.ini
ADD https://downloads.example.org/legacy/intranet-3.4.tar.gz /tmp/
RUN cd /var/www/html && tar xzf /tmp/intranet-3.4.tar.gz && rm /tmp/intranet-3.4.tar.gz
RUN sed -i "s/memory_limit = .*/memory_limit = ${PHP_MEMORY_LIMIT}/" /etc/php.ini
RUN chmod -R 777 /var/www/html/uploads
RUN echo "*/5 * * * * apache php /var/www/html/cron.php > /dev/null 2>&1" > /etc/cron.d/intranet

VOLUME /var/www/html/uploads
EXPOSE 80 443
CMD ["/usr/bin/supervisord", "-n", "-c", "/etc/supervisord.conf"]
