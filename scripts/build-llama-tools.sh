#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-server, llama-bench, llama-batched-bench) into
# .tools/llama.cpp/bin/, CPU only, from the llama.cpp source that node-llama-cpp already
# ships inside its npm package (node_modules/node-llama-cpp/llama/gitRelease.bundle), so
# the server is the same llama.cpp release as the embedded teacher and nothing is downloaded.
# Opt-in (scripts/setup.sh runs it only with S3_LLAMA_TOOLS=1) and cached: it does nothing
# when the three binaries exist. Takes roughly 10-20 minutes on 2 cores.
# Environment: S3_LLAMA_JOBS (default: 2) parallel compile jobs; S3_LLAMA_NATIVE=OFF for a
#   portable (non -march=native) build; S3_LLAMA_REBUILD=1 rebuilds even if the binaries exist.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=.tools/llama.cpp
SRC="$ROOT/src"
BUILD="$ROOT/build"
BIN="$ROOT/bin"
TARGETS=(llama-server llama-bench llama-batched-bench)
PKG=node_modules/node-llama-cpp/llama
BUNDLE="$PKG/gitRelease.bundle"

have_all() {
  for t in "${TARGETS[@]}"; do [ -x "$BIN/$t" ] || return 1; done
}
if [ "${S3_LLAMA_REBUILD:-0}" != 1 ] && have_all; then
  echo "[llama-tools] already built: $BIN/{$(IFS=,; echo "${TARGETS[*]}")}" >&2
  exit 0
fi

for tool in cmake git c++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "[llama-tools] '$tool' is required (apt-get install cmake git g++)" >&2; exit 1; }
done
if [ ! -f "$BUNDLE" ]; then
  echo "[llama-tools] $BUNDLE not found: run 'bash scripts/setup.sh' first (npm install)" >&2
  exit 1
fi

start=$(date +%s)
release=$(node -e "console.log(require('./$PKG/llama.cpp.info.json').tag)" 2>/dev/null || echo unknown)
head=$(git bundle list-heads "$BUNDLE" | awk 'NR==1{print $1}')

# 1. source: clone the bundle once (re-clone if node-llama-cpp was upgraded)
if [ ! -d "$SRC/.git" ] || [ "$(git -C "$SRC" rev-parse HEAD 2>/dev/null)" != "$head" ]; then
  echo "[llama-tools] extracting llama.cpp ${release} (${head:0:12}) from $BUNDLE" >&2
  rm -rf "$SRC" "$BUILD"
  mkdir -p "$ROOT"
  git -c advice.detachedHead=false clone --quiet "$BUNDLE" "$SRC"
  # the same patches node-llama-cpp applies to its own build (best effort)
  for p in "$PKG"/patches/*.diff; do
    [ -f "$p" ] || continue
    if git -C "$SRC" apply --check "$(realpath "$p")" 2>/dev/null; then
      git -C "$SRC" apply "$(realpath "$p")"
      echo "[llama-tools] applied $(basename "$p")" >&2
    else
      echo "[llama-tools] skipped patch $(basename "$p") (does not apply)" >&2
    fi
  done
fi

# 2. configure: Release, CPU only, static (self-contained binaries), no web UI, no HTTPS,
#    nothing fetched at configure or build time
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$SRC" -B "$BUILD" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE="${S3_LLAMA_NATIVE:-ON}" \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_LLGUIDANCE=OFF \
  -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
  >&2

# 3. build only the three targets
cmake --build "$BUILD" --config Release -j "${S3_LLAMA_JOBS:-2}" --target "${TARGETS[@]}" >&2

mkdir -p "$BIN"
for t in "${TARGETS[@]}"; do
  f=$(find "$BUILD" -type f -name "$t" -perm -u+x | head -n1)
  [ -n "$f" ] || { echo "[llama-tools] build produced no $t" >&2; exit 1; }
  cp -f "$f" "$BIN/$t.tmp" && mv -f "$BIN/$t.tmp" "$BIN/$t"
done
# shared libraries, if a build was ever configured shared (static builds have none)
find "$BUILD" -name '*.so*' \( -type f -o -type l \) -exec cp -af {} "$BIN/" \; 2>/dev/null || true
printf '{"release":"%s","commit":"%s","native":"%s","builtAt":"%s","seconds":%d}\n' \
  "$release" "$head" "${S3_LLAMA_NATIVE:-ON}" "$(date -u +%FT%TZ)" "$(($(date +%s) - start))" > "$ROOT/build-info.json"
echo "[llama-tools] built $BIN/{$(IFS=,; echo "${TARGETS[*]}")} from llama.cpp ${release} in $(($(date +%s) - start)) s" >&2
"$BIN/llama-server" --version >&2 || true
