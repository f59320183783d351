# One image for every Mailroom process; the command picks the role:
#   API (default):  node dist/api/server.js
#   worker:         node --max-old-space-size=256 dist/worker/main.js   (loads dist/workflow-bundle.js)
#   migrations:     node dist/scripts/migrate.js
# Production runs compiled JavaScript: the build stage compiles the sources and pre-builds the
# workflow bundle (`npm run build`), so the runtime neither runs tsx nor webpack at start, and holds
# only production dependencies.

# Node 22 LTS (Node 20 is end of life; `npm test` runs the suite on Node 22 too). Debian (glibc),
# not Alpine: Temporal's native core (@temporalio/core-bridge) and @swc/core ship prebuilt glibc
# binaries in their npm packages.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app

# Dependencies first so that source edits reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# Compiled code, SQL migrations and the workflow bundle; owned by root, read-only for the runtime user.
COPY --from=build /app/dist ./dist
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js

# The node image's unprivileged user (uid 1000).
USER node

EXPOSE 3000
CMD ["node", "dist/api/server.js"]
