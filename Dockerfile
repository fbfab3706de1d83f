# CPU image (wasm backend): the job service, workers and the CLI.
# Build:  docker build -t audience-engine .
# Run:    docker run --rm -v "$PWD/data:/data" audience-engine info
# Several hosts: docker-compose.yml (Redis, one server, two workers on a shared /data).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
# Transpiled once here, so each process (server, job runners, workers) starts ~1.5 s sooner.
RUN node scripts/build.mjs
COPY examples ./examples
COPY models/README.md ./models/README.md
ENV AUDIENCE_MODEL_STORE=/data/models \
    AUDIENCE_DATA_ROOTS=/data \
    AUDIENCE_DATA_DIR=/data/jobs \
    AUDIENCE_HOST=0.0.0.0 \
    AUDIENCE_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["node", "bin/audience.js"]
CMD ["serve"]
