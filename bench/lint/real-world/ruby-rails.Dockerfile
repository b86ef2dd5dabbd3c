# Helpdesk (Rails 7.2): gems and assets in a build stage, a slim runtime with jemalloc.
ARG RUBY_VERSION=3.3.5
FROM ruby:${RUBY_VERSION}-slim-bookworm AS base
WORKDIR /srv/helpdesk
ENV RAILS_ENV=production \
    RACK_ENV=production \
    BUNDLE_DEPLOYMENT=1 \
    BUNDLE_PATH=/usr/local/bundle \
    BUNDLE_WITHOUT="development:test" \
    RAILS_LOG_TO_STDOUT=1 \
    RAILS_SERVE_STATIC_FILES=1

FROM base AS gems
RUN apt-get update -qq \
 && apt-get install --no-install-recommends -y build-essential git libpq-dev libyaml-dev pkg-config \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*
COPY Gemfile Gemfile.lock .ruby-version ./
RUN gem install bundler:2.5.20 --no-document \
 && bundle install --jobs 4 --retry 3 \
 && rm -rf ~/.bundle/ "${BUNDLE_PATH}"/ruby/*/cache

FROM gems AS assets
COPY . .
RUN SECRET_KEY_BASE=placeholder bundle exec rails assets:precompile \
 && rm -rf tmp/cache node_modules

FROM base
RUN apt-get update -qq \
 && apt-get install --no-install-recommends -y curl libjemalloc2 libpq5 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*
COPY --from=gems /usr/local/bundle /usr/local/bundle
COPY --from=assets /srv/helpdesk /srv/helpdesk
RUN groupadd --system --gid 1200 helpdesk \
 && useradd helpdesk --system --uid 1200 --gid 1200 --home-dir /srv/helpdesk --shell /usr/sbin/nologin \
 && chown -R helpdesk:helpdesk db log tmp storage
USER 1200:1200
ENV LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF="dirty_decay_ms:1000,narenas:2"
EXPOSE 3000
HEALTHCHECK --interval=20s --timeout=3s CMD curl -fs http://127.0.0.1:3000/up || exit 1
ENTRYPOINT ["bin/docker-entrypoint"]
CMD ["bin/rails", "server", "-b", "0.0.0.0", "-p", "3000"]
