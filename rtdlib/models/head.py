"""The DINO-style projection head with the l2-bottleneck (paper App. A and E.1).

MLP in -> hidden -> hidden (GELU), then the bottleneck:
  part 1: lin1 (-> bottleneck, bias), wn1 (weight-normalize lin1's rows), fn1 (L2-normalize)
  part 2: lin2 (-> m, no bias), wn2 (unit-norm rows), fn2 (L2-normalize the output)
The MLP and lin1 start trunc-normal with std 0.02 and zero bias (the paper's App. E.1). lin2 keeps
PyTorch's default init, as in DINO, which builds its last layer after its init pass: with wn2 its rows
are unit vectors whatever their initial scale. Without lin2, lin1 maps to the m outputs, as in the
public code. The paper's head is lin1 + fn1 + lin2 + wn2.

`authors_code=True` reproduces the public code (safelix/dinopl): its linear layer computes the
weight-normalized weight and then multiplies by the raw one, so neither wn1 nor wn2 takes effect
(`applied_parts`), and it initializes lin2 trunc-normal with std 0.02 too (std 0.036 by default at a
256-d bottleneck, so its logits start 1.8x smaller than the head without wn1 and wn2 in paper mode).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def trunc_normal_init(layer: nn.Linear) -> nn.Linear:
    """Weight trunc-normal with std 0.02 (torch's absolute bounds [-2, 2]: in effect a plain normal), zero bias."""
    nn.init.trunc_normal_(layer.weight, std=0.02)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


class NormedLinear(nn.Linear):
    """Linear layer whose weight rows are divided by their norm in the forward pass (g fixed to 1)."""

    def __init__(self, d_in, d_out, bias, normalize=True):
        super().__init__(d_in, d_out, bias=bias)
        self.normalize = normalize

    def forward(self, x):
        w = F.normalize(self.weight, dim=1) if self.normalize else self.weight
        return F.linear(x, w, self.bias)


def applied_parts(parts, authors_code=False) -> tuple[str, ...]:
    """The parts that take effect. The authors' code computes both weight normalizations and then uses the
    raw weights, so with `authors_code` wn1 and wn2 are dropped."""
    return tuple(p for p in parts if not (authors_code and p in ("wn1", "wn2")))


class Head(nn.Module):
    def __init__(self, in_dim, out_dim, hidden_dim=2048, bottleneck_dim=256,
                 parts=("lin1", "fn1", "wn2", "lin2"), authors_code=False):
        super().__init__()
        self.parts = frozenset(applied_parts(parts, authors_code))
        self.mlp = nn.Sequential(trunc_normal_init(nn.Linear(in_dim, hidden_dim)), nn.GELU(),
                                 trunc_normal_init(nn.Linear(hidden_dim, hidden_dim)), nn.GELU())
        dim = hidden_dim
        self.lin1 = None
        if "lin1" in self.parts:
            # without lin2 the bottleneck is the output (the public code sets mid_dim = out_dim)
            dim = bottleneck_dim if "lin2" in self.parts else out_dim
            self.lin1 = trunc_normal_init(NormedLinear(hidden_dim, dim, bias=True, normalize="wn1" in self.parts))
        self.lin2 = None
        if "lin2" in self.parts:
            self.lin2 = NormedLinear(dim, out_dim, bias=False, normalize="wn2" in self.parts)
            if authors_code:
                trunc_normal_init(self.lin2)
            dim = out_dim
        self.out_dim = dim

    def forward(self, z):
        z = self.mlp(z)
        if self.lin1 is not None:
            z = self.lin1(z)
        if "fn1" in self.parts:
            z = F.normalize(z, dim=1)
        if self.lin2 is not None:
            z = self.lin2(z)
        if "fn2" in self.parts:
            z = F.normalize(z, dim=1)
        return z


class Net(nn.Module):
    """Encoder + head; `features` is what probes see, `forward` what the distillation loss sees."""

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def features(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.head(self.encoder(x))


def last_layer_row_norms(head: Head) -> torch.Tensor:
    """Norms of the effective last-layer rows (1 for the paper's head)."""
    w = head.lin2.weight
    return (F.normalize(w, dim=1) if head.lin2.normalize else w).norm(dim=1)
