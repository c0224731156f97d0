# Tessera container image: `docker build -t tessera .`
#
#   docker run -p 8080:8080 -v tessera-data:/data -e TESSERA_ISSUER=https://auth.example.com tessera
#
# Defaults to SQLite and a generated KEK file in the volume /data (one host). For a cluster, set
# TESSERA_STORAGE_URL=postgres://…, TESSERA_REDIS_URL (optional) and the same TESSERA_KEK on every
# instance: see docs/deployment.md and deploy/compose.yaml.
# The image creates no demo client and prints no secret; for a throw-away trial, add
# -e TESSERA_DEMO_CLIENT=true to get `demo-client` and its secret printed once on first start.

# ---- build: native modules (better-sqlite3) and the compiled JavaScript in dist/ ----------------
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
# Every dependency first: `prepare` builds every package (the server's src/ to dist/ with
# TypeScript, a dev dependency).
# Then drop the dev dependencies: the image keeps what `npm ci --omit=dev` would install.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && find packages -name '*.test.ts' -delete

# ---- runtime ----------------------------------------------------------------------------------
FROM node:20-bookworm-slim
# One libuv pool thread per core (signatures run there) and two malloc arenas keep the resident
# set low (docs/performance.md). Raise UV_THREADPOOL_SIZE on machines with more cores.
ENV NODE_ENV=production \
    UV_THREADPOOL_SIZE=2 \
    MALLOC_ARENA_MAX=2 \
    TESSERA_HOST=0.0.0.0 \
    TESSERA_PORT=8080 \
    TESSERA_STORAGE_URL=sqlite:/data/tessera.db \
    TESSERA_KEK_FILE=/data/kek.key \
    TESSERA_DEMO_CLIENT=false
WORKDIR /app
# Owned by root and read-only to the server: only /data is writable.
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (no storage check, so a database outage does not get containers restarted);
# load balancers should use /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TESSERA_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM stops it gracefully (in-flight requests finish, exit 0 within 10 s).
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=2", "packages/server/bin/tessera.mjs", "serve"]
