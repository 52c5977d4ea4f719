"""Writes golden.npz: weights, an input and the outputs of the three seed architectures in
PyTorch (eval mode), for crates/train/tests/golden.rs. Run from the repository root:

    .venv/bin/python crates/train/tests/golden/make.py

Module and parameter names are the ones quantsweep's models use, so weights load by name.
"""

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
INPUTS, SEQ, BATCH, HIDDEN = 4, 5, 6, 8
x = torch.randn(BATCH, SEQ, INPUTS)


class Blankly(nn.Module):
    """LSTM -> last hidden state -> Linear -> 0.5 + sigmoid (Blankly's), two layers here."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(INPUTS, HIDDEN, num_layers=2, batch_first=True)
        self.head = nn.Linear(HIDDEN, 3)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return torch.sigmoid(self.head(h[-1])) + 0.5


class Freqai(nn.Module):
    """freqAI-LSTM's PyTorchLSTMModel; `original` feeds later layers the 2-D tensor."""

    def __init__(self, layers=3, out=2, dropout=0.3, original=False):
        super().__init__()
        self.lstm_layers = nn.ModuleList(
            nn.LSTM(INPUTS if i == 0 else HIDDEN, HIDDEN, batch_first=True) for i in range(layers)
        )
        self.batch_norms = nn.ModuleList(nn.BatchNorm1d(HIDDEN) for _ in range(layers))
        self.dropouts = nn.ModuleList(nn.Dropout(dropout) for _ in range(layers))
        self.fc1 = nn.Linear(HIDDEN, 36)
        self.alpha_dropout = nn.AlphaDropout(0.5)
        self.fc2 = nn.Linear(36, out)
        self.original = original

    def forward(self, x):
        for i, (lstm, bn, dropout) in enumerate(zip(self.lstm_layers, self.batch_norms, self.dropouts)):
            if i == 0:
                y = lstm(x)[0][:, -1, :]
            elif self.original:
                y = lstm(x)[0]  # [batch, hidden] is read as one unbatched sequence
            else:
                y = lstm(x.unsqueeze(1))[0][:, -1, :]
            y = dropout(bn(y))
            x = y if i == 0 else y + x
        return self.fc2(self.alpha_dropout(torch.relu(self.fc1(x))))


class Cell(nn.Module):
    """The LSTM written out, one model on the leading dimension, relu activation, one bias."""

    def __init__(self):
        super().__init__()
        self.w_ih = nn.Parameter(torch.randn(1, 4 * HIDDEN, INPUTS) * 0.4)
        self.w_hh = nn.Parameter(torch.randn(1, 4 * HIDDEN, HIDDEN) * 0.3)
        self.bias = nn.Parameter(torch.randn(1, 4 * HIDDEN) * 0.2)

    def forward(self, x):
        h = c = torch.zeros(x.shape[0], HIDDEN)
        for t in range(x.shape[1]):
            g = x[:, t] @ self.w_ih[0].T + h @ self.w_hh[0].T + self.bias[0]
            i, f, cand, o = g.chunk(4, -1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.relu(cand)
            h = torch.sigmoid(o) * torch.relu(c)
        return h


class Keras(nn.Module):
    """LSTM(relu) -> Dropout -> Dense(relu) -> Dropout -> Dense(1, sigmoid)."""

    def __init__(self):
        super().__init__()
        self.lstm = Cell()
        self.dense = nn.Linear(HIDDEN, HIDDEN)
        self.out = nn.Linear(HIDDEN, 1)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        h = torch.relu(self.dense(self.dropout(self.lstm(x))))
        return torch.sigmoid(self.out(self.dropout(h)))


out = {"x": x}
freqai = Freqai()
# Non-trivial BatchNorm statistics: a few training-mode passes.
freqai.train()
for _ in range(3):
    freqai(torch.randn(BATCH, SEQ, INPUTS) * 2 + 1)
quirk = Freqai(original=True)
quirk.load_state_dict(freqai.state_dict())
for name, model in [("blankly", Blankly()), ("freqai", freqai), ("freqai_original", quirk), ("keras", Keras())]:
    model.eval()
    with torch.no_grad():
        out[f"{name}.y"] = model(x)
    if name != "freqai_original":
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[f"{name}.{k}"] = v
np.savez("crates/train/tests/golden/golden.npz", **{k: v.numpy().astype(np.float32) for k, v in out.items()})
