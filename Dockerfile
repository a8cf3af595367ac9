# syntax=docker/dockerfile:1
# Multi-stage: compile and build the native SQLite binding with the toolchain,
# ship only the compiled output and production dependencies, run as non-root.

FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped so `prepare` does not build before the sources are here;
# the one native dependency is built explicitly.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY server ./server
COPY operator ./operator
# The admin web UI is built here too (its build tools are dev dependencies, pruned after).
RUN npm run build && npm run build:ui && npm prune --omit=dev

FROM node:22-bookworm-slim
# git (>= 2.37, for http.curloptResolve) fetches git module sources; ca-certificates for its HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    TFM_DATA_DIR=/data \
    TFM_SERVER_LISTEN=0.0.0.0:8443
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8443
ENTRYPOINT ["node", "/app/dist/server/src/cli.js"]
CMD ["serve"]
