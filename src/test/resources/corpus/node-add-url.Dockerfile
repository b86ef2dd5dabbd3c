# expect: image-not-pinned
FROM 127.0.0.1:5000/base/node:20 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# expect: add-url-outside-egress add-url-without-checksum
ADD https://example.com/tool.tar.gz /opt/
USER node
CMD ["node", "server.js"]
