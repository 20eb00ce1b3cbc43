#!/usr/bin/env python3
"""Runs the networks `examples/export_onnx.rs` exports in onnxruntime on the inputs nn ran them on, and reports the
largest absolute difference between onnxruntime's outputs and nn's, per network.

    pip install onnx onnxruntime numpy
    python3 scripts/check_onnx.py            # exports into out/export_onnx first (cargo run --release)
    python3 scripts/check_onnx.py --dir DIR  # checks what an earlier export wrote to DIR

Exits with status 1 if a model fails the ONNX checker or a difference exceeds --tolerance (default 1e-4).
"""

import argparse
import pathlib
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=pathlib.Path, help="an export already made (default: export now)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    out = args.dir
    if out is None:
        out = root / "out" / "export_onnx"
        subprocess.run(
            ["cargo", "run", "--release", "--quiet", "--example", "export_onnx", "--", "--out", str(out)],
            cwd=root,
            check=True,
        )
    failed = False
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}")
    print(f"{'network':<14} {'samples':>7} {'opset':>5} {'max |nn - onnxruntime|':>24}")
    for line in (out / "manifest.txt").read_text().splitlines():
        name, count, input_shape, output_shape, dtype = line.split()
        count = int(count)
        input_shape = [int(d) for d in input_shape.split(",") if d]
        output_shape = [int(d) for d in output_shape.split(",")]
        model = onnx.load(out / f"{name}.onnx")
        onnx.checker.check_model(model, full_check=True)
        x = np.fromfile(out / f"{name}.input.bin", dtype="<i8" if dtype == "i64" else "<f4").reshape([count, *input_shape])
        want = np.fromfile(out / f"{name}.output.bin", dtype="<f4").reshape([count, *output_shape])
        session = ort.InferenceSession(str(out / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        # Two batch sizes: the dynamic batch dimension must take any.
        got = np.concatenate([session.run(None, {"input": x[:1]})[0], session.run(None, {"input": x[1:]})[0]])
        error = float(np.max(np.abs(got - want)))
        opset = model.opset_import[0].version
        print(f"{name:<14} {count:>7} {opset:>5} {error:>24.3e}")
        failed |= not error <= args.tolerance
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
