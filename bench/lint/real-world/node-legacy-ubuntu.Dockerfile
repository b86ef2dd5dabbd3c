FROM ubuntu:20.04
MAINTAINER web-team <web@example.com>

ENV DEBIAN_FRONTEND noninteractive
ENV NODE_MAJOR 16

RUN apt-get update && apt-get install -y curl gnupg build-essential python3 git
RUN curl -sL https://deb.nodesource.com/setup_16.x | bash -
RUN apt-get install -y nodejs
RUN npm install -g pm2@5.3.0 node-gyp

RUN mkdir -p /var/www/portal
WORKDIR /var/www/portal
ADD package.json /var/www/portal/package.json
RUN npm install
ADD . /var/www/portal

RUN npm run build && npm prune --production

EXPOSE 80 443
CMD pm2-runtime start ecosystem.config.js --env production
