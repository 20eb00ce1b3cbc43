#!/usr/bin/env python3
"""The `networks` benchmark's workloads in PyTorch: same networks, shapes, batch sizes, data distribution,
optimiser and thread count, timed the way criterion times them (warm-up, then the mean over as many iterations as
fit in the measurement time). Prints one line per group, `group  seconds-per-iteration  samples/s`, and with
`--json FILE` writes them for `scripts/criterion_summary.py --pytorch FILE`.

Run: python3 benches/pytorch/bench.py [--threads 2] [--json target/pytorch.json] [--only PREFIX]
Skips with a message (exit 0) when PyTorch is not installed: `pip install torch` installs it.
"""

import argparse
import json
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:
    print("PyTorch is not installed (pip install torch): skipping the PyTorch benchmarks.")
    sys.exit(0)

WARM_UP = 2.0
MEASURE = 5.0
LR = 0.01


def measure(step):
    """Mean seconds per call of `step`, criterion's way: warm up, then time batches of calls."""
    deadline = time.perf_counter() + WARM_UP
    calls = 0
    while time.perf_counter() < deadline:
        step()
        calls += 1
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < MEASURE:
        step()
        calls += 1
    return (time.perf_counter() - start) / calls


def data(batch, shape):
    """Uniform [0, 1) inputs and labels 0–9, as the Rust benchmark's `data`."""
    g = torch.Generator().manual_seed(7)
    return torch.rand((batch, *shape), generator=g), torch.randint(0, 10, (batch,), generator=g)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(x)))


def mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


class Recurrent(nn.Module):
    """`kind`(28 → 128, layers, bidirectional) → last step → Linear(128·directions → 10)."""

    def __init__(self, kind, layers=1, bidirectional=False):
        super().__init__()
        self.rnn = kind(28, 128, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        self.fc = nn.Linear(128 * (2 if bidirectional else 1), 10)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.fc(out[:, -1]), state


class Block(nn.Module):
    """A pre-norm transformer block; with `cache` (keys and values `[1, heads, positions, head size]` each), one
    step at position `pos` writes its key and value there and attends to the positions up to it."""

    def __init__(self, e, heads, ff, causal):
        super().__init__()
        self.ln1, self.qkv, self.proj = nn.LayerNorm(e), nn.Linear(e, 3 * e), nn.Linear(e, e)
        self.ln2, self.fc1, self.fc2 = nn.LayerNorm(e), nn.Linear(e, ff), nn.Linear(ff, e)
        self.heads, self.causal = heads, causal

    def forward(self, x, cache=None, pos=0):
        b, t, e = x.shape
        q, k, v = (z.view(b, t, self.heads, e // self.heads).transpose(1, 2) for z in self.qkv(self.ln1(x)).split(e, 2))
        if cache is None:
            y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            keys, values = cache
            keys[:, :, pos : pos + t], values[:, :, pos : pos + t] = k, v
            y = nn.functional.scaled_dot_product_attention(q, keys[:, :, : pos + t], values[:, :, : pos + t])
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, e))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


class Gpt(nn.Module):
    """The character-level GPT of `benches/benches/transformers.rs`: vocabulary 96, 128 features, 4 heads, MLP 512,
    2 blocks, learned positions (`positions` of them); the next-token logits at every step."""

    def __init__(self, positions):
        super().__init__()
        self.tok, self.pos = nn.Embedding(96, 128), nn.Embedding(positions, 128)
        self.blocks = nn.ModuleList([Block(128, 4, 512, True) for _ in range(2)])
        self.ln_f, self.head = nn.LayerNorm(128), nn.Linear(128, 96)

    def forward(self, ids, caches=None, pos=0):
        h = self.tok(ids) + self.pos(torch.arange(pos, pos + ids.shape[1]))
        for i, block in enumerate(self.blocks):
            h = block(h, None if caches is None else caches[i], pos)
        return self.head(self.ln_f(h))


class Vit(nn.Module):
    """7×7 patches of a 28×28 image as 16 steps of 64 features, learned positions, 4 blocks, a mean over steps."""

    def __init__(self):
        super().__init__()
        self.patch, self.pos = nn.Conv2d(1, 64, 7, stride=7), nn.Parameter(torch.zeros(16, 64))
        self.blocks = nn.Sequential(*[Block(64, 4, 128, False) for _ in range(4)])
        self.ln, self.head = nn.LayerNorm(64), nn.Linear(64, 10)

    def forward(self, x):
        h = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        return self.head(self.ln(self.blocks(h)).mean(1))


def gpt_train(batch):
    model, loss_fn = Gpt(64), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    ids = torch.randint(0, 96, (batch, 65), generator=torch.Generator().manual_seed(7))
    x, y = ids[:, :64], ids[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x).reshape(-1, 96), y.reshape(-1)).backward()
        opt.step()

    return step


def gpt_generate():
    """One token at position 64, the cache holding the 64 before it (reset to them before each call)."""
    model = Gpt(128).eval()
    caches = [(torch.zeros(1, 4, 128, 32), torch.zeros(1, 4, 128, 32)) for _ in range(2)]
    with torch.inference_mode():
        model(torch.randint(0, 96, (1, 64)), caches, 0)
    token = torch.tensor([[17]])

    def step():
        with torch.inference_mode():
            model(token, caches, 64)

    return step


class Autoencoder(nn.Module):
    """The convolutional autoencoder of `examples/autoencoder.rs`: 28×28 → 16 values → 28×28 probabilities."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(3136, 16))
        self.decoder = nn.Sequential(
            nn.Linear(16, 3136), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)), nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def autoencoder_train(batch):
    """One step against the inputs themselves: mean binary cross-entropy, plain SGD."""
    model, loss_fn = Autoencoder(), nn.BCELoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, _ = data(batch, (1, 28, 28))

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), x).backward()
        opt.step()

    return step


def dcgan_step(batch):
    """One discriminator and one generator update of `examples/gan`'s pair: Adam 2e-4, β₁ = 0.5, the
    non-saturating loss, real and generated batches through the discriminator separately."""
    g = nn.Sequential(
        nn.Linear(100, 3136), nn.BatchNorm1d(3136), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1),
        nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64),
        nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(3136, 1))
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss_fn = nn.BCEWithLogitsLoss()
    real = data(batch, (1, 28, 28))[0] * 2 - 1
    z = torch.randn(batch, 100, generator=torch.Generator().manual_seed(7))
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        fake = g(z)
        d_opt.zero_grad(set_to_none=True)
        (loss_fn(d(real), ones) + loss_fn(d(fake.detach()), zeros)).backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        loss_fn(d(fake), ones).backward()
        g_opt.step()

    return step


def train_step(model, x, y):
    loss_fn, opt = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out[0] if isinstance(out, tuple) else out, y)
        loss.backward()
        opt.step()

    return step


def infer(model, x):
    model.eval()

    def step():
        with torch.inference_mode():
            model(x)

    return step


def stream_step(model):
    """One streaming step of the LSTM network at batch 1, the state carried between calls."""
    model.eval()
    x = torch.rand(1, 1, 28)
    state = [None]

    def step():
        with torch.inference_mode():
            _, state[0] = model(x, state[0])

    return step


def workloads():
    image, flat, seq = (1, 28, 28), (784,), (28, 28)
    yield "lenet5_train_step_b64", 64, lambda: train_step(LeNet5(), *data(64, image))
    yield "mlp_train_step_b64", 64, lambda: train_step(mlp(), *data(64, flat))
    yield "lenet5_infer_b1", 1, lambda: infer(LeNet5(), data(1, image)[0])
    yield "lenet5_infer_b256", 256, lambda: infer(LeNet5(), data(256, image)[0])
    yield "mlp_infer_b1", 1, lambda: infer(mlp(), data(1, flat)[0])
    yield "lstm_train_step_b64", 64, lambda: train_step(Recurrent(nn.LSTM), *data(64, seq))
    yield "gru_train_step_b64", 64, lambda: train_step(Recurrent(nn.GRU), *data(64, seq))
    yield "bilstm2_train_step_b64", 64, lambda: train_step(Recurrent(nn.LSTM, 2, True), *data(64, seq))
    yield "lstm_infer_b1", 1, lambda: infer(Recurrent(nn.LSTM), data(1, seq)[0])
    yield "lstm_infer_b256", 256, lambda: infer(Recurrent(nn.LSTM), data(256, seq)[0])
    yield "lstm_step_b1", 1, lambda: stream_step(Recurrent(nn.LSTM))
    tokens = lambda n: torch.randint(0, 96, (n, 64), generator=torch.Generator().manual_seed(7))
    yield "transformer_train_step_b64", 64, lambda: gpt_train(64)
    yield "transformer_infer_b256", 256, lambda: infer(Gpt(64), tokens(256))
    yield "vit_train_step_b64", 64, lambda: train_step(Vit(), *data(64, image))
    yield "gpt_generate_step_b1", 1, gpt_generate
    yield "autoencoder_train_step_b64", 64, lambda: autoencoder_train(64)
    yield "dcgan_step_b64", 64, lambda: dcgan_step(64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--only", default="", help="only groups whose name starts with this")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    results = {}
    for group, batch, make in workloads():
        if not group.startswith(args.only):
            continue
        seconds = measure(make())
        results[group] = {"seconds": seconds, "batch": batch}
        print(f"{group:24} {seconds * 1e3:10.4f} ms {batch / seconds:12.0f} samples/s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": args.threads, "groups": results}, f, indent=1)


if __name__ == "__main__":
    main()
