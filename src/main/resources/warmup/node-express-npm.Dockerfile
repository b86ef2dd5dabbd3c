# syntax=docker/dockerfile:1
ARG NODE_VERSION=20.17.0

FROM node:${NODE_VERSION}-bookworm-slim AS base
WORKDIR /usr/src/app
ENV NODE_ENV=production

FROM base AS deps
RUN --mount=type=bind,source=package.json,target=package.json \
    --mount=type=bind,source=package-lock.json,target=package-lock.json \
    --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev

FROM base AS build
RUN --mount=type=bind,source=package.json,target=package.json \
    --mount=type=bind,source=package-lock.json,target=package-lock.json \
    --mount=type=cache,target=/root/.npm \
    npm ci
COPY . .
RUN npm run build

FROM base AS final
USER node
COPY package.json .
COPY --from=deps /usr/src/app/node_modules ./node_modules
COPY --from=build /usr/src/app/dist ./dist
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=2s --retries=5 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/server.js"]
