# One image for the API and the worker (the compose file picks the command).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY scripts/copy-lua.js ./scripts/copy-lua.js
# The web console, bundled into dist/console by npm run build (esbuild and tsx are dev dependencies, here installed).
COPY console ./console
COPY scripts/build-console.ts ./scripts/build-console.ts
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# OCR of scans and page photos (OCR=auto): tesseract with English, and pdftoppm to render PDF pages.
# tini: PID 1 (see ENTRYPOINT).
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng poppler-utils tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production LANCEDB_LOG=error DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# tini runs as PID 1: it forwards SIGTERM and SIGINT to node (graceful shutdown runs; node as PID 1 gets no default
# signal handling from the kernel), and it reaps orphans, the tesseract and pdftoppm children of a parse process that
# was killed past its limits, which would otherwise stay zombies for the container's life. `-g` would signal the whole
# process group; without it node alone decides how its worker and parse children stop.
ENTRYPOINT ["/usr/bin/tini", "--"]
# The API's readiness (Redis and the vector store answer), as the compose file checks it; node's fetch, since the image
# has no curl. A worker container (`node dist/workers/index.js`) overrides it (the compose file checks its /healthz).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server.js"]
