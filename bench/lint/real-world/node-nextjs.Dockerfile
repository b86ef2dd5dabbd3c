# Storefront (Next.js, standalone output). Three stages: modules, build, a slim runner.
FROM node:20.15-alpine3.20 AS modules
RUN apk add --no-cache libc6-compat=1.1.0-r4
WORKDIR /srv/storefront
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm ci --no-audit --no-fund \
 && npm cache clean --force

FROM node:20.15-alpine3.20 AS compile
WORKDIR /srv/storefront
COPY --from=modules /srv/storefront/node_modules node_modules
COPY . .
ARG NEXT_PUBLIC_API_BASE=https://api.shop.example.com
ARG GIT_SHA=unknown
ENV NEXT_TELEMETRY_DISABLED=1 \
    NEXT_PUBLIC_API_BASE=${NEXT_PUBLIC_API_BASE} \
    NEXT_PUBLIC_BUILD=${GIT_SHA}
RUN npm run lint -- --quiet \
 && npm run build

FROM node:20.15-alpine3.20 AS runner
WORKDIR /srv/storefront
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000 HOSTNAME=0.0.0.0
RUN addgroup -S -g 1001 web \
 && adduser -S -u 1001 -G web web \
 && mkdir -p .next/cache \
 && chown -R web:web .next
COPY --from=compile /srv/storefront/public ./public
COPY --from=compile --chown=web:web /srv/storefront/.next/standalone ./
COPY --from=compile --chown=web:web /srv/storefront/.next/static ./.next/static
USER web
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD wget -q --spider http://127.0.0.1:3000/api/ping || exit 1
CMD ["node", "server.js"]
