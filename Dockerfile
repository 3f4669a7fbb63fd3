# Edgeport as a container image (docs/operations.md, "Run as a container").
#
#   docker build -t edgeport .                 # FROM the official node:20-slim (needs Docker Hub)
#   npm run image                              # FROM a base made locally (scripts/build-image.mjs)
#
# Three stages: `deps` installs the production dependencies, `build` compiles with tsc, the final
# stage holds only dist/ and the production node_modules on the same base image.
ARG BASE_IMAGE=node:20-slim

FROM ${BASE_IMAGE} AS deps
# better-sqlite3 is a native addon. "apt": install a C++ toolchain so npm can build it from source
# where no prebuilt binary applies; "none": the base has no apt (the local base of `npm run image`,
# which passes the addon it built on the host as a local prebuild instead, below).
ARG BUILD_TOOLCHAIN=apt
RUN if [ "$BUILD_TOOLCHAIN" = "apt" ]; then \
      apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; \
    fi
# node-gyp uses the headers the base ships instead of downloading them; prebuild-install looks in
# /tmp/prebuilds before it downloads (docker/prebuilds/ holds a README unless `npm run image` put
# the host's addon there).
ENV npm_config_nodedir=/usr/local \
    npm_config_better_sqlite3_local_prebuilds=/tmp/prebuilds
COPY docker/prebuilds/ /tmp/prebuilds/
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY domain domain
COPY application application
COPY adapters adapters
COPY infrastructure infrastructure
# The dashboard's pages (Preact, built by Vite into dist/dashboard-ui by `npm run build`).
COPY dashboard-ui dashboard-ui
RUN npm run build

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    EDGEPORT_CONFIG=/etc/edgeport/edgeport.toml
WORKDIR /opt/edgeport
COPY package.json ./
COPY --from=deps /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY docker/edgeport.toml /etc/edgeport/edgeport.toml
# The runtime drops to this user at start when the Docker socket and the configured ports allow it
# (infrastructure/container/entrypoint.ts). Written directly: Debian's useradd and busybox's
# adduser take different flags, and the image builds FROM either. The `edgeport` command is a
# /bin/sh wrapper rather than a link to bin.js: bin.js's `#!/usr/bin/env -S node ...` needs an env
# with -S (GNU, BSD), which busybox's lacks.
RUN echo 'edgeport:x:10001:10001:Edgeport:/var/lib/edgeport:/bin/false' >> /etc/passwd \
 && echo 'edgeport:x:10001:' >> /etc/group \
 && mkdir -p /var/lib/edgeport \
 && chown 10001:10001 /var/lib/edgeport \
 && printf '#!/bin/sh\nexec node --max-semi-space-size=2 /opt/edgeport/dist/infrastructure/cli/bin.js "$@"\n' > /usr/local/bin/edgeport \
 && chmod 0755 /usr/local/bin/edgeport
VOLUME /var/lib/edgeport
WORKDIR /var/lib/edgeport
# MQTT over TLS, AMQP over TLS, HTTPS (methods, WebSockets), metrics and /health. With
# `--network host` (how the agent's sibling module containers reach the hub) they are the host's.
EXPOSE 8883 5671 443 9600
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/opt/edgeport/dist/infrastructure/container/healthcheck.js"]
STOPSIGNAL SIGTERM
# --max-semi-space-size=2: as the CLI launcher (infrastructure/cli/bin.ts, docs/performance.md).
ENTRYPOINT ["node", "--max-semi-space-size=2", "/opt/edgeport/dist/infrastructure/container/entrypoint.js"]
CMD ["run"]
