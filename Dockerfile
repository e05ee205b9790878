# Multi-stage build: compile TypeScript with dev dependencies, ship only dist/ and production deps.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
COPY config/gateway.yaml ./config/gateway.yaml
# The image's unprivileged user; the gateway needs no write access anywhere.
USER node
EXPOSE 8080
# node:22-slim has no curl; Node's own fetch checks liveness. HEALTHCHECK_URL overrides it: for
# https, or http://127.0.0.1:<port>/healthz when http.admin moves the endpoint to its own listener.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL||'http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself: readiness off, in-flight requests finish, NATS drains.
# V8's young generation fixed at 8 MiB semi-spaces (bench/README.md, "The young generation"):
# capped, it cut GC time and peak RSS at 16 KiB bodies by a third; held there, a burst after an
# idle spell no longer pays for regrowing it from 1 MiB. Node refuses the second in NODE_OPTIONS.
# Bytecode is kept once compiled (bench/README.md, "Bytecode flushing"): traffic after a quiet spell
# no longer recompiles and re-optimises the hot path. The old generation's limit never falls below
# 64 MiB (bench/README.md, "The old generation after a quiet spell"): without it, traffic
# after a quiet spell ran a full GC every 0.1-0.4 s. With that room, V8's allocation-site
# pretenuring moved in-flight requests straight to the old generation under sustained load at
# 256 connections (a full GC every ~2 s, ~150 MiB RSS); without pretenuring they die young
# (bench/README.md, "Pretenuring under sustained load"). Measured on Node 20; the image runs Node 22.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--min-semi-space-size=8", "--no-flush-bytecode", "--initial-old-space-size=64", "--no-allocation-site-pretenuring", "dist/main.js"]
CMD ["--config", "config/gateway.yaml"]
