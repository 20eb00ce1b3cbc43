#!/usr/bin/env bash
# Compile time is part of speed: the incremental release rebuild of the LeNet example after touching its source
# (the edit-run loop of someone changing a network). Target: at most 5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example lenet_mnist --quiet
for run in 1 2 3; do
    touch examples/lenet_mnist.rs
    start=$(date +%s%N)
    cargo build --release --example lenet_mnist --quiet
    end=$(date +%s%N)
    echo "run $run: incremental release rebuild of lenet_mnist: $(( (end - start) / 1000000 )) ms"
done
