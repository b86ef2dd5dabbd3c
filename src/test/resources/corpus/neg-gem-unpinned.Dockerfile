# gem install with versions: name:version, -v, and a local .gem file.
FROM 127.0.0.1:5000/base/ruby:3.3@sha256:5656565656565656565656565656565656565656565656565656565656565656
WORKDIR /srv/app
# quiet: gem-unpinned
RUN gem install bundler:2.5.6 --no-document
COPY vendor/app-client-1.4.2.gem /tmp/app-client-1.4.2.gem
# quiet: gem-unpinned
RUN gem install rake -v 13.1.0 --no-document && gem install --local /tmp/app-client-1.4.2.gem && rm -f /tmp/app-client-1.4.2.gem
HEALTHCHECK CMD ["/bin/true"]
USER 1000
