"""PyTorch parity: torch.optim against minibatch's optimizers, float64, 100 steps.

Runs the C++ driver (argv[1]), replays every config with torch.optim on the same problem
(see parity.cpp), and prints the largest |θ_ours − θ_torch| over all steps and
coordinates, per config and per optimizer. Exits 1 if any exceeds 1e-10.
"""
import subprocess
import sys
from collections import defaultdict

import torch

N, D, STEPS, TOL = 8, 5, 100, 1e-10


def x(i, j):
    return ((7 * i + 3 * j) % 11 - 5) / 4.0


def y(i):
    return ((5 * i) % 7 - 3) / 2.0


def gradient(theta):
    """Same loop order as parity.cpp, in Python floats (IEEE double)."""
    g = [0.0] * D
    for i in range(N):
        r = -y(i)
        for j in range(D):
            r += x(i, j) * theta[j]
        for j in range(D):
            g[j] += r * x(i, j)
    return [gj / N for gj in g]


# config name -> (optimizer family for the summary, torch constructor)
CONFIGS = {
    "sgd_momentum": ("SGD", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "sgd_momentum_lecture": ("SGD", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "sgd_dampening": ("SGD", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd_nesterov": ("SGD", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_nesterov_lecture": ("SGD", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_wd": ("SGD", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01)),
    "adagrad": ("Adagrad", lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "adagrad_decay_wd": ("Adagrad", lambda p: torch.optim.Adagrad(
        p, lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    "rmsprop": ("RMSprop", lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop_centered_momentum_wd": ("RMSprop", lambda p: torch.optim.RMSprop(
        p, lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.9, centered=True)),
    "adam": ("Adam", lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_betas_wd": ("Adam", lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)),
    "adamw": ("AdamW", lambda p: torch.optim.AdamW(p, lr=0.01)),
    "adamw_wd": ("AdamW", lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}


def torch_trajectory(make):
    theta = torch.tensor([(j - 2) / 4.0 for j in range(D)], dtype=torch.float64, requires_grad=True)
    opt = make([theta])
    out = []
    for _ in range(STEPS):
        theta.grad = torch.tensor(gradient(theta.detach().tolist()), dtype=torch.float64)
        opt.step()
        out.append(theta.detach().tolist())
    return out


def main():
    text = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    ours = defaultdict(list)
    for line in text.splitlines():
        name, step, *values = line.split()
        ours[name].append([float(v) for v in values])
    missing = set(CONFIGS) ^ set(ours)
    if missing:
        sys.exit(f"configs on one side only: {sorted(missing)}")

    print(f"torch {torch.__version__}, float64, {STEPS} steps, f = least squares (n = {N}, d = {D})")
    print(f"{'config':32} {'max |Δθ|':>10}")
    per_family = defaultdict(float)
    for name, (family, make) in CONFIGS.items():
        theirs = torch_trajectory(make)
        diff = max(abs(a - b) for sa, sb in zip(ours[name], theirs) for a, b in zip(sa, sb))
        assert len(ours[name]) == STEPS
        per_family[family] = max(per_family[family], diff)
        print(f"{name:32} {diff:10.3e}")
    print()
    print(f"{'optimizer':32} {'max |Δθ|':>10}  (target <= {TOL:g})")
    for family, diff in per_family.items():
        print(f"{family:32} {diff:10.3e}  {'ok' if diff <= TOL else 'FAIL'}")
    sys.exit(0 if all(d <= TOL for d in per_family.values()) else 1)


if __name__ == "__main__":
    main()
