# npm installs that say what they get: a global tool at an exact version, a local tarball and a scoped package at a version.
FROM 127.0.0.1:5000/base/node:20@sha256:9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a
WORKDIR /srv/app
# quiet: npm-unpinned
RUN npm install --global typescript@5.6.3
COPY package.json package-lock.json tsconfig.json ./
COPY vendor/ ./vendor/
# quiet: npm-unpinned
RUN npm ci --omit=dev && npm i --no-save ./vendor/metrics-agent-1.3.2.tgz @corp/tracing@2.1.0
COPY src/ ./src/
RUN tsc -p tsconfig.json
HEALTHCHECK CMD ["node", "/srv/app/dist/health.js"]
USER 1000
CMD ["node", "/srv/app/dist/server.js"]
