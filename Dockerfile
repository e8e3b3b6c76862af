# s3-synth worker image (used by docker-compose.yml).
FROM node:20-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/setup.sh scripts/setup.sh
ENV ONNXRUNTIME_NODE_INSTALL=skip NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
RUN npm install --no-audit --no-fund
COPY . .
RUN PIP_BREAK_SYSTEM_PACKAGES=1 bash scripts/setup.sh
CMD ["npm", "run", "worker"]
