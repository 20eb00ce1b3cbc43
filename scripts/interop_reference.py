"""Reference files for networks that branch, written by PyTorch itself: each model's state_dict as PyTorch saves
it, and its outputs (and parameter gradients) on a batch, so that nn's tests check loading and computing against
PyTorch without needing it.

    resnet       a torchvision-style ResNet: a stem, two BasicBlocks in `layer1`, a strided BasicBlock with a 1×1
                 downsample in `layer2` (its module named `shortcut`, holding `conv` and `bn`), global average
                 pooling and a linear classifier; batch norm trained on a few batches first, so that its running
                 statistics and num_batches_tracked (int64) are real; in eval mode
    tagger       Embedding (padding_idx 0) over token ids, a pre-norm residual MLP per position (LayerNorm,
                 Linear, GELU, Linear) and a linear head
    decoder      a code through Linear, unflattened into an image, ConvTranspose2d (stride 2, padding 1, output
                 padding 1), nearest Upsample, Conv2d and a sigmoid
    resnet_train the same ResNet in training mode on a batch of 40 (more than one 32-sample chunk of nn's): batch
                 statistics, and the buffers after the pass as `after.NAME` (running statistics updated once)
    attention    nn.MultiheadAttention(16, 4, batch_first=True) on sequences of lengths 5, 2 and 4 padded to 5
                 (`key_padding_mask`; the padded steps' outputs zeroed, their d_output 0; `lengths` saved)
    attention_causal  the same with a causal `attn_mask`
    encoder      nn.TransformerEncoder of two nn.TransformerEncoderLayer(16, 4, 32, dropout=0, batch_first=True):
                 post-norm, ReLU
    encoder_norm_first  one such layer with norm_first=True
    gpt          a GPT-style stack: token and position nn.Embeddings, two pre-norm encoder layers with GELU and a
                 causal mask, a final LayerNorm and a linear head over 20 tokens

For each NAME it writes

    NAME.weights.safetensors   the state_dict, exactly as `safetensors.torch.save_file(model.state_dict())`
    NAME.data.safetensors      input (token ids as int64), output, d_output, and for each parameter `grad.NAME`:
                               the gradient of sum(output · d_output)

    pip install torch safetensors
    python3 scripts/interop_reference.py tests/data/pytorch
"""
import collections
import os
import sys

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, its downsample called `shortcut` (a Sequential of `conv` and `bn`)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            layers = collections.OrderedDict(conv=nn.Conv2d(cin, cout, 1, stride, bias=False), bn=nn.BatchNorm2d(cout))
            self.shortcut = nn.Sequential(layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = BasicBlock(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16, padding_idx=0)
        self.ln = nn.LayerNorm(16)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 16)
        self.out = nn.Linear(16, 5)

    def forward(self, ids):
        h = self.emb(ids)
        h = h + self.fc2(F.gelu(self.fc1(self.ln(h))))
        return self.out(h)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4 * 4 * 4)
        self.up = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
        self.conv = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, z):
        x = F.relu(self.fc(z)).unflatten(1, (4, 4, 4))
        x = F.relu(self.up(x))
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.conv(x))


class Attention(nn.Module):
    """`nn.MultiheadAttention` on its own, self-attention on a batch padded to its longest sequence: the padded
    steps are masked out as keys (`key_padding_mask`), and causally when `causal`."""

    def __init__(self, causal):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.causal = causal
        self.lengths = None

    def forward(self, x):
        t = x.shape[1]
        pad = torch.arange(t)[None, :] >= self.lengths[:, None]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1) if self.causal else None
        y = self.attn(x, x, x, key_padding_mask=pad, attn_mask=mask, need_weights=False)[0]
        # The padded steps' outputs are not part of the result.
        return y.masked_fill(pad[:, :, None], 0.0)


class Gpt(nn.Module):
    """A GPT-style stack from PyTorch's own blocks: token and position embeddings, pre-norm
    `TransformerEncoderLayer`s with a causal mask and GELU, a final LayerNorm and a head."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(20, 16)
        self.pos = nn.Embedding(8, 16)
        block = dict(dim_feedforward=32, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(16, 4, **block) for _ in range(2)])
        self.ln_f = nn.LayerNorm(16)
        self.head = nn.Linear(16, 20)

    def forward(self, ids):
        t = ids.shape[1]
        h = self.tok(ids) + self.pos(torch.arange(t))[None]
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.head(self.ln_f(h))


def write(out, name, model, x, extra=None):
    model.zero_grad()
    y = model(x)
    d = torch.randn_like(y)
    if extra is not None and "lengths" in extra:
        # No gradient from the padded steps, which are not part of the output.
        pad = torch.arange(y.shape[1])[None, :] >= extra["lengths"][:, None]
        d = d.masked_fill(pad[:, :, None], 0.0)
    (y * d).sum().backward()
    weights = {k: v.contiguous() for k, v in model.state_dict().items()}
    data = {"input": x, "output": y.detach(), "d_output": d, **(extra or {})}
    data.update({f"grad.{k}": p.grad for k, p in model.named_parameters()})
    save_file(weights, os.path.join(out, f"{name}.weights.safetensors"))
    save_file({k: v.contiguous() for k, v in data.items()}, os.path.join(out, f"{name}.data.safetensors"))
    print(f"{name}: {len(weights)} tensors; output {list(y.shape)}")


def write_train(out, name, model, x):
    model.zero_grad()
    weights = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    y = model.train()(x)
    d = torch.randn_like(y)
    (y * d).sum().backward()
    data = {"input": x, "output": y.detach(), "d_output": d}
    data.update({f"grad.{k}": p.grad for k, p in model.named_parameters()})
    data.update({f"after.{k}": v.clone() for k, v in model.named_buffers()})
    save_file(weights, os.path.join(out, f"{name}.weights.safetensors"))
    save_file({k: v.contiguous() for k, v in data.items()}, os.path.join(out, f"{name}.data.safetensors"))
    print(f"{name}: {len(weights)} tensors; output {list(y.shape)}, in training mode")


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    resnet = ResNet()
    resnet.train()
    with torch.no_grad():
        for _ in range(3):
            resnet(torch.randn(16, 3, 16, 16))
    write(out, "resnet", resnet.eval(), torch.randn(4, 3, 16, 16))
    ids = torch.randint(0, 50, (3, 7))
    ids[0, 2] = 0  # the padding index
    write(out, "tagger", Tagger().eval(), ids)
    write(out, "decoder", Decoder().eval(), torch.randn(5, 6))
    write_train(out, "resnet_train", resnet, torch.randn(40, 3, 16, 16))
    for causal in [False, True]:
        attention = Attention(causal).eval()
        attention.lengths = torch.tensor([5, 2, 4])
        x = torch.randn(3, 5, 16).masked_fill((torch.arange(5)[None, :] >= attention.lengths[:, None])[:, :, None], 0)
        name = "attention_causal" if causal else "attention"
        write(out, name, attention, x, extra={"lengths": attention.lengths.float()})
    # PyTorch's encoder layer as it comes (post-norm, ReLU), two of them stacked, and its pre-norm form.
    layer = dict(dim_feedforward=32, dropout=0.0, batch_first=True)
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, **layer), 2, enable_nested_tensor=False)
    write(out, "encoder", stack.eval(), torch.randn(3, 5, 16))
    write(out, "encoder_norm_first", nn.TransformerEncoderLayer(16, 4, norm_first=True, **layer).eval(),
          torch.randn(3, 5, 16))
    write(out, "gpt", Gpt().eval(), torch.randint(0, 20, (3, 8)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/pytorch")
