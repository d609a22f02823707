# syntax=docker/dockerfile:1
#
# The dshield-coord engine on the official Bun image: one image for `serve`, every `worker`
# pool and the other commands (the command is the container's arguments).
#
#   docker build -t dshield-coord:0.1.0 .
#   docker run --rm dshield-coord:0.1.0 version
#   docker run --rm -p 8080:8080 dshield-coord:0.1.0 serve --host 0.0.0.0
#
# deploy/compose.yaml and deploy/k8s/ run this image; test/unit/deploy-manifests.test.ts
# checks that they name it as it is tagged here (title:version below).

# Bun as package.json pins it (devDependencies.bun).
ARG BUN_VERSION=1.4.5

# 1. Production dependencies, exactly as package-lock.json pins them: npm reads its own
#    lockfile (bun install would have to migrate it first). --ignore-scripts skips the
#    postinstall step, which needs Bun and the sources; the runtime stage runs it.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 2. The runtime: Bun, the production node_modules and the sources the engine loads
#    (TypeScript, run by Bun as it is; no build step, no dev dependencies).
FROM oven/bun:${BUN_VERSION} AS runtime
LABEL org.opencontainers.image.title="dshield-coord" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.description="DShield Coordination Engine: coordinated campaigns in honeypot logs (serve, worker pools, CLI)."
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY actors ./actors
COPY layers ./layers
COPY migrations ./migrations
COPY scripts ./scripts
# What postinstall does: the embedded store's initdb template (node_modules/.cache), so a
# container without DATABASE_URL opens a new PGlite store in about a second. Uses only the
# production dependencies.
RUN bun scripts/prepare-embedded-store.ts \
    && mkdir -p /var/lib/dshield-coord \
    && chown 1000:1000 /var/lib/dshield-coord

# The code stays root-owned and read-only to the process; the working directory is where
# `serve` keeps its files (.dshield-coord/: uploads, and the key ring and webhook secret when
# DSHIELD_JWT_KEYS and DSHIELD_WEBHOOK_SECRET are not set) and where the embedded store goes.
WORKDIR /var/lib/dshield-coord
# The image's unprivileged "bun" user (uid and gid 1000).
USER 1000:1000
# serve's API (--port) and the Prometheus listener the manifests give --metrics-port.
EXPOSE 8080 9464
# No HEALTHCHECK: the same image runs `serve` (GET /health/live) and workers, which answer
# no HTTP but --metrics-port; deploy/compose.yaml and deploy/k8s/ give each its own check.
# Bun is PID 1 and gets SIGTERM itself: workers drain within --grace and exit 0.
ENTRYPOINT ["bun", "/app/src/cli/main.ts"]
CMD ["--help"]
