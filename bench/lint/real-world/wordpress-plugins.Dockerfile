# The marketing site: WordPress with the plugins the agency needs and our theme.
FROM wordpress:6.6.2-php8.2-apache

ARG WP_CLI_VERSION=2.11.0

RUN apt-get update && apt-get install -y unzip less mariadb-client && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL -o /usr/local/bin/wp "https://github.com/wp-cli/wp-cli/releases/download/v${WP_CLI_VERSION}/wp-cli-${WP_CLI_VERSION}.phar" \
    && chmod +x /usr/local/bin/wp \
    && wp --allow-root --version

RUN set -ex; \
    for plugin in wordfence redis-cache wp-mail-smtp classic-editor; do \
        curl -fsSL -o /tmp/$plugin.zip "https://downloads.wordpress.org/plugin/$plugin.latest-stable.zip"; \
        unzip -q /tmp/$plugin.zip -d /usr/src/wordpress/wp-content/plugins/; \
        rm /tmp/$plugin.zip; \
    done; \
    chown -R www-data:www-data /usr/src/wordpress/wp-content

COPY themes/marketing/ /usr/src/wordpress/wp-content/themes/marketing/
COPY php/uploads.ini /usr/local/etc/php/conf.d/uploads.ini
COPY apache/security.conf /etc/apache2/conf-available/security.conf
RUN a2enmod headers expires rewrite \
    && a2enconf security

EXPOSE 80
