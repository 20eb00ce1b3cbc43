"""Independent check of nn's weight files against PyTorch's conventions, without nn.

Loads a LeNet-5 weight file written by `cargo run --release --example lenet_mnist` with `safetensors.numpy`, runs the
network in NumPy with PyTorch's semantics (conv2d is a cross-correlation with weight [out, in, kh, kw]; linear is
x @ W.T + b; flatten is NCHW order) and prints the test accuracy, which must equal the example's own.

    pip install numpy safetensors
    python3 scripts/check_lenet_weights.py out/lenet_mnist/lenet5.safetensors ../shared/data/mnist
"""
import gzip
import sys

import numpy as np
from safetensors.numpy import load_file


def idx(path, offset):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return np.frombuffer(data, np.uint8, offset=offset)


def conv(x, w, b):
    k = w.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # n c oh ow kh kw
    return np.einsum("ncijkl,ockl->noij", windows, w) + b[None, :, None, None]


def pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def main(weights, data_dir):
    w = load_file(weights)
    print({name: tensor.shape for name, tensor in sorted(w.items())})
    x = idx(f"{data_dir}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    y = idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz", 8)
    x = (x - 0.1307) / 0.3081  # the example's normalisation
    relu = lambda v: np.maximum(v, 0)
    h = pool(relu(conv(x, w["conv1.weight"], w["conv1.bias"])))
    h = pool(relu(conv(h, w["conv2.weight"], w["conv2.bias"])))
    h = h.reshape(len(h), -1)
    h = relu(h @ w["fc1.weight"].T + w["fc1.bias"])
    h = relu(h @ w["fc2.weight"].T + w["fc2.bias"])
    logits = h @ w["fc3.weight"].T + w["fc3.bias"]
    print("test accuracy (NumPy, PyTorch semantics): %.4f" % (logits.argmax(1) == y).mean())


if __name__ == "__main__":
    main(*sys.argv[1:3])
