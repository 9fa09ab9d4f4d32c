# syntax=docker/dockerfile:1
# leasecron image: compiled JavaScript and production dependencies on the official Node image.
#
# The base image provides Node. The `node` devDependency (the npm package that carries a Node 24
# binary for `make` on developer machines) is deliberately not used here:
# - build stage: `npm ci --ignore-scripts` installs every package, `node` included, but skips its
#   preinstall script, which would download a second Node binary of ~120 MB from the registry.
#   No other package in package-lock.json has an install script (test/deploy/build-artifacts.int.test.ts
#   checks this, so adding one that needs its script fails the tests, not the image). Without its
#   script `node` has no binary; the `rm` makes sure no node_modules/.bin/node shadows the base
#   image's Node when `npm run build` runs tsc.
# - final stage: `npm ci --omit=dev` leaves devDependencies out, `node` included.
# NODE_VERSION matches the `node` devDependency, so the image runs the Node that local builds and
# tests run (the test above checks that too).
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-slim AS runtime
# NODE_OPTIONS (measured by bench/memory.ts, bench/README.md "Memory"):
# - --import=./dist/source-maps.js maps stack traces of leasecron's own files back to src/, as
#   --enable-source-maps did, without also parsing and keeping node_modules' 1,000+ source maps.
# - --max-semi-space-size=8 (MiB): V8 otherwise sizes the young generation from the machine's
#   memory (128 MiB of new space on a 24 GiB node), most of it resident and never given back.
#   A leader with 10,000 armed: RSS 320 → ~205 MiB, arming time unchanged.
ENV NODE_ENV=production \
    NODE_OPTIONS="--import=./dist/source-maps.js --max-semi-space-size=8"
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# Files stay owned by root and read-only to the app; it runs as the image's `node` user (uid 1000),
# numerically so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 1000:1000
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM itself, which releases the Lease on shutdown.
CMD ["node", "dist/main.js"]
