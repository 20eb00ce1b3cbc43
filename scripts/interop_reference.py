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


def write(out, name, model, x):
    model.zero_grad()
    y = model(x)
    d = torch.randn_like(y)
    (y * d).sum().backward()
    weights = {k: v.contiguous() for k, v in model.state_dict().items()}
    data = {"input": x, "output": y.detach(), "d_output": d}
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/pytorch")
