# syntax=docker/dockerfile:1
# Redline: one image for `redline serve` (the default command), `redline controller` and the
# offline commands (review, mutate, test).
#
#   docker build -t redline:0.1.0 .
#   docker run --rm redline:0.1.0 --help
#
# Runtime: node:20-slim (Debian), production dependencies only, the compiled JavaScript and the
# shipped policy library; runs as the numeric non-root user 65532 (Kubernetes can verify
# runAsNonRoot against a numeric user). The webhook Deployment's preStop hook uses this image's
# `sleep`.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here; the build is explicit below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && rm -rf dist/test dist/scripts

FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json: "type": "module" makes the compiled .js files ES modules.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The default library (`--policies` unset); in a cluster the ConfigMap is mounted instead.
COPY policies/library ./policies/library
USER 65532:65532
EXPOSE 8443 8080 8081
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
