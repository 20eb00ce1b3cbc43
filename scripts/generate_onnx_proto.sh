#!/usr/bin/env bash
# Regenerates nn-runtime/src/io/onnx_schema.rs from nn-runtime/src/io/onnx.proto. Run from the repository root.
#
# prost-build compiles the schema (with the protoc of the `grpcio-tools` Python package: `pip install
# grpcio-tools`), then the `prost::Message`, `Oneof` and `Enumeration` derives are expanded (`-Zunpretty=expanded`
# on a stable toolchain through RUSTC_BOOTSTRAP) so that the runtime builds with `prost`'s default features off: no
# `prost-derive`, hence no second major version of `syn` in a build. The standard derives (Clone, PartialEq, ...)
# are kept as derives. The expansion calls `prost::encoding`, the module prost's own derive output calls: regenerate
# when the `prost` version in nn-runtime/Cargo.toml changes.
set -euo pipefail
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prost_version=$(sed -n 's/^prost = { version = "\([^"]*\)".*/\1/p' nn-runtime/Cargo.toml)

# 1. prost-build's output, with derives.
mkdir -p "$work/gen/src" "$work/out"
cp nn-runtime/src/io/onnx.proto "$work/"
printf '#!/bin/sh\nexec python3 -m grpc_tools.protoc "$@"\n' > "$work/protoc.sh"
chmod +x "$work/protoc.sh"
cat > "$work/gen/Cargo.toml" <<TOML
[package]
name = "onnxgen"
version = "0.1.0"
edition = "2021"
[dependencies]
prost-build = "$prost_version"
TOML
cat > "$work/gen/src/main.rs" <<RS
fn main() {
    std::env::set_var("PROTOC", "$work/protoc.sh");
    prost_build::Config::new().out_dir("$work/out").compile_protos(&["onnx.proto"], &["$work"]).unwrap();
}
RS
(cd "$work/gen" && cargo run --release --quiet)

# 2. The prost derives expanded; the standard ones marked to survive the expansion as doc attributes.
mkdir -p "$work/expand/src"
cat > "$work/expand/Cargo.toml" <<TOML
[package]
name = "onnxexpand"
version = "0.1.0"
edition = "2021"
[dependencies]
prost = "=$prost_version"
TOML
python3 - "$work/out/onnx.rs" "$work/expand/src/lib.rs" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
def mark(m):
    indent, names = m.group(1), [n.strip() for n in m.group(2).split(',')]
    std = ', '.join(n for n in names if not n.startswith('::prost'))
    prost = ', '.join(n for n in names if n.startswith('::prost'))
    return f'{indent}#[doc = "@@derive({std})"]\n{indent}#[derive({prost})]'
src = re.sub(r'^( *)#\[derive\(([^)]*)\)\]', mark, src, flags=re.M)
open(sys.argv[2], 'w').write(src)
PY
(cd "$work/expand" && RUSTC_BOOTSTRAP=1 cargo rustc --quiet -- -Zunpretty=expanded > "$work/expanded.rs")

# 3. Back to plain stable Rust: the standard derives restored, the derive's field attributes and the prelude
#    injection dropped, `unreachable!` for its expansion.
python3 - "$work/expanded.rs" "$work/schema.rs" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
src = re.sub(r'#\[doc\s*=\s*"@@derive\(([^)]*)\)"\]', r'#[derive(\1)]', src)
src = re.sub(r'\n[ \t]*#\[prost\([^\]]*\)\]', '', src)
src = src.replace('#![feature(prelude_import)]\n', '')
src = src.replace('extern crate std;\n#[prelude_import]\nuse std::prelude::rust_2021::*;\n', '')
src = re.sub(
    r'::core::panicking::panic_fmt\(format_args!\("internal error: entered unreachable code: \{0\}",\s*'
    r'format_args!\(("[^"]*"), tag\)\)\);',
    r'unreachable!(\1, tag);', src)
assert '@@derive' not in src and '#[prost(' not in src and 'panicking' not in src, 'unexpected expansion'
open(sys.argv[2], 'w').write(src)
PY
{
    printf '%s\n' "//! The ONNX schema as Rust types: \`onnx.proto\` (beside this file, from the \`onnx\` 1.23.2 Python package, Apache-2.0)"
    printf '%s\n' "//! compiled by \`prost-build\` $prost_version with prost's derives expanded, so that no \`prost-derive\` is built"
    printf '%s\n' "//! (\`scripts/generate_onnx_proto.sh\` regenerates it). Not edited by hand; not a stable API."
    printf '\n#![allow(missing_docs, unused_mut, clippy::all, clippy::pedantic)]\n\n'
    cat "$work/schema.rs"
} > "$root/nn-runtime/src/io/onnx_schema.rs"
rustfmt --edition 2021 "$root/nn-runtime/src/io/onnx_schema.rs"
