"""Reference files for nn's recurrent layers, written by PyTorch itself.

For each case below — RNN (tanh and ReLU), LSTM and GRU, one and two layers, one and two directions, with and
without biases — builds the PyTorch module with `batch_first=True`, runs it on a batch of sequences of different
lengths (packed, so each sequence is read to its own end, as nn does) from random initial states, and writes

    NAME.weights.safetensors   the module's state_dict, its names prefixed as in nn (`lstm.weight_ih_l0`, ...)
    NAME.data.safetensors      input [B, T, F] (zero past each length), lengths [B], h0 [L·D, B, H] (and c0),
                               output [B, T, H·D] (zero past each length), h_n [L·D, B, H] (and c_n);
                               d_output [B, T, H·D] and, for each parameter, `grad.NAME`: the gradient of
                               sum(output · d_output) from zero initial states

nn's tests read the files in tests/data/pytorch/ (written by this script) without needing PyTorch:

    pip install torch safetensors
    python3 scripts/recurrent_reference.py tests/data/pytorch
"""
import os
import sys

import torch
from safetensors.torch import save_file

CASES = [
    # name, module, prefix, input features
    ("rnn_tanh_2_layers", lambda: torch.nn.RNN(10, 20, 2, batch_first=True), "rnn", 10),
    ("rnn_relu_bidirectional_no_bias",
     lambda: torch.nn.RNN(4, 6, 1, nonlinearity="relu", bias=False, batch_first=True, bidirectional=True), "rnn", 4),
    ("lstm_1_layer", lambda: torch.nn.LSTM(4, 5, batch_first=True), "lstm", 4),
    ("lstm_2_layers_bidirectional", lambda: torch.nn.LSTM(10, 16, 2, batch_first=True, bidirectional=True), "lstm", 10),
    ("gru_bidirectional", lambda: torch.nn.GRU(4, 6, batch_first=True, bidirectional=True), "gru", 4),
    ("gru_2_layers", lambda: torch.nn.GRU(4, 6, 2, batch_first=True), "gru", 4),
]

LENGTHS = [6, 3, 1, 5]


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, make, prefix, features in CASES:
        module = make().eval()
        dirs = 2 if module.bidirectional else 1
        batch, steps = len(LENGTHS), max(LENGTHS)
        x = torch.randn(batch, steps, features)
        for i, n in enumerate(LENGTHS):
            x[i, n:] = 0
        h0 = torch.randn(module.num_layers * dirs, batch, module.hidden_size)
        lengths = torch.tensor(LENGTHS)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        with torch.no_grad():
            if isinstance(module, torch.nn.LSTM):
                c0 = torch.randn_like(h0)
                out_packed, (h_n, c_n) = module(packed, (h0, c0))
            else:
                c0 = c_n = None
                out_packed, h_n = module(packed, h0)
        output, _ = torch.nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True, total_length=steps)
        # Backpropagation through time from zero initial states, for a random output gradient.
        d_output = torch.randn_like(output)
        for i, n in enumerate(LENGTHS):
            d_output[i, n:] = 0
        module.zero_grad()
        from_zero, _ = module(packed)
        from_zero, _ = torch.nn.utils.rnn.pad_packed_sequence(from_zero, batch_first=True, total_length=steps)
        (from_zero * d_output).sum().backward()
        grads = {f"grad.{prefix}.{k}": p.grad for k, p in module.named_parameters()}
        weights = {f"{prefix}.{k}": v.contiguous() for k, v in module.state_dict().items()}
        data = {"input": x, "lengths": lengths.to(torch.float32), "h0": h0, "output": output, "h_n": h_n}
        data.update(d_output=d_output, **grads)
        if c0 is not None:
            data.update(c0=c0, c_n=c_n)
        save_file(weights, os.path.join(out, f"{name}.weights.safetensors"))
        save_file({k: v.contiguous() for k, v in data.items()}, os.path.join(out, f"{name}.data.safetensors"))
        print(f"{name}: {', '.join(f'{k} {list(v.shape)}' for k, v in weights.items())}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/pytorch")
