#!/usr/bin/env bash
# Regenerates nn-runtime/src/io/onnx_schema.rs from nn-runtime/src/io/onnx.proto with prost-build, using the
# protoc of the `grpcio-tools` Python package (`pip install grpcio-tools`). Run from the repository root.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/out"
cp nn-runtime/src/io/onnx.proto "$work/"
printf '#!/bin/sh\nexec python3 -m grpc_tools.protoc "$@"\n' > "$work/protoc.sh"
chmod +x "$work/protoc.sh"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "onnxgen"
version = "0.1.0"
edition = "2021"
[dependencies]
prost-build = "0.14"
TOML
cat > "$work/src/main.rs" <<RS
fn main() {
    std::env::set_var("PROTOC", "$work/protoc.sh");
    prost_build::Config::new().out_dir("$work/out").compile_protos(&["onnx.proto"], &["$work"]).unwrap();
}
RS
(cd "$work" && cargo run --release --quiet)
{
    printf '%s\n' "//! The ONNX schema as Rust types: \`onnx.proto\` (beside this file, from the \`onnx\` 1.23.2 Python package, Apache-2.0)"
    printf '%s\n' "//! compiled by \`prost-build\` 0.14 (\`scripts/generate_onnx_proto.sh\` regenerates it). Not edited by hand."
    printf '\n#![allow(missing_docs, clippy::all, clippy::pedantic)]\n\n'
    cat "$work/out/onnx.rs"
} > nn-runtime/src/io/onnx_schema.rs
