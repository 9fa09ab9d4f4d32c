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
# - final stage: `npm ci --omit=dev` leaves devDependencies out, `node` included; the same RUN then
#   deletes npm, npx, corepack and yarn, so the image runs Node and leasecron's production
#   dependencies and no package manager (nothing at run time needs one, and each is code with its
#   own advisories). In the same RUN, so no layer of this stage holds them; the base image's layer
#   still carries their files underneath, hidden by the deletion, as any slim image's would.
#   Why not distroless (gcr.io/distroless/nodejs24-*): its tags follow Node's major version only,
#   so the image's Node would drift from the pinned `node` devDependency that local builds and the
#   tests run; node:<exact version>-slim keeps them the same and only loses npm here.
# NODE_VERSION matches the `node` devDependency, so the image runs the Node that local builds and
# tests run (the test above checks that too). No HEALTHCHECK: Kubernetes ignores it; the
# Deployment's probes (/healthz, /readyz) are the health checks.
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
# OCI annotations; `make image` passes the version from package.json, the git commit and the time:
#   docker build --build-arg VERSION=… --build-arg REVISION=… --build-arg CREATED=… .
ARG NODE_VERSION
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="leasecron" \
      org.opencontainers.image.description="Kubernetes-native active/passive job scheduler: Lease election, MongoDB change streams, croner jobs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-slim"
ENV NODE_ENV=production \
    NODE_OPTIONS="--import=./dist/source-maps.js --max-semi-space-size=8" \
    BUILD_REVISION="${REVISION}"
WORKDIR /app
COPY package.json package-lock.json LICENSE ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
    && rm -f /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
COPY --from=build /app/dist ./dist
# Files stay owned by root and read-only to the app; it runs as the image's `node` user (uid 1000),
# numerically so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 1000:1000
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM itself, which releases the Lease on shutdown.
CMD ["node", "dist/main.js"]
