# One image for every Mailroom process; the command picks the role:
#   API (default):  npx tsx api/server.ts
#   worker:         npx tsx worker/main.ts
#   migrations:     npx tsx scripts/migrate.ts
# Production runs the TypeScript sources through tsx (a regular dependency), so there is no
# build step and no dev dependencies in the image.

# Debian (glibc), not Alpine: Temporal's native core (@temporalio/core-bridge) and @swc/core ship
# prebuilt glibc binaries in their npm packages.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first so that source edits reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# Sources stay owned by root and read-only for the runtime user; tsx writes its cache to /tmp.
COPY . .

# The node image's unprivileged user (uid 1000); it has a home for npx's logs and cache.
USER node

EXPOSE 3000
CMD ["npx", "tsx", "api/server.ts"]
