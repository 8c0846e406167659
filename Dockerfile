# syntax=docker/dockerfile:1
# egressgw agent image. Reviewed, not built, on the development machines (no Docker engine).
#   docker build -t ghcr.io/egressgw/egressgw:$(node -p 'require("./package.json").version') .

# --- build: the TypeScript host (dist/) and the AssemblyScript core (build/core.wasm) ---
FROM node:24-bookworm-slim AS build
WORKDIR /src
# No python3/make/g++: nothing is compiled natively (koffi ships prebuilt binaries).
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: the lock file cannot list every platform's optional packages
# (scripts/setup.sh explains); `npm install` still installs exactly the locked versions.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json asconfig.json ./
COPY assembly/ assembly/
COPY host/ host/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime ---
FROM node:24-bookworm-slim
# iproute2 (ip -json: links, routes, rules), nftables (nft -j), procps (sysctl).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 nftables procps \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules/ ./node_modules/
COPY --from=build /src/dist/ ./dist/
COPY --from=build /src/build/core.wasm ./build/core.wasm
# Runs as root inside the container: netlink and the TUN device need it. The DaemonSet
# drops every capability but NET_ADMIN and NET_RAW and makes the root filesystem
# read-only (deploy/src/workload.ts); nothing in /app is written at run time.
USER 0:0
ENTRYPOINT ["node", "dist/host/cli/main.js", "agent"]
