# One image for the API and the worker (the compose file picks the command).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY scripts/copy-lua.js ./scripts/copy-lua.js
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# OCR of scans and page photos (OCR=auto): tesseract with English, and pdftoppm to render PDF pages.
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng poppler-utils \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production LANCEDB_LOG=error DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Node receives SIGTERM directly (exec form), so graceful shutdown runs.
CMD ["node", "dist/src/server.js"]
