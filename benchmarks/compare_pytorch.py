"""Side-by-side CPU timings of minibatch (bench_cpu) and PyTorch on the workloads of issue 6.

    python compare_pytorch.py --ours build/bench/benchmarks/bench_cpu [--threads 1 2]
        [--rounds 3] [--results benchmarks/RESULTS.md]

Workloads, float32: MLP A = 784-128-10 and B = 784-512-512-10, ReLU, CrossEntropyLoss
(mean), SGD momentum 0.9, lr 0.01, on 60000x784 synthetic features.
  step  — gather of a random batch (index_select), forward, loss, backward, update; the
          steps walk through the batches of one shuffled epoch on both sides.
  epoch — PyTorch's fastest plain loop: one randperm index tensor, index_select per batch,
          all steps; ours: train_loop with a new shuffle (no gradient norm).
Interleaved: in each round every workload runs ours (one bench_cpu process with
--benchmark_filter) and then PyTorch, at each thread count; the table holds medians over
rounds of wall time, and for one thread also of CPU time (robust when other processes
share the cores). PyTorch gets torch.set_num_threads(t) (OpenMP and MKL), ours gets
OMP_NUM_THREADS=t (Eigen's products; 1 thread if bench_cpu was built without OpenMP).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

EXAMPLES, FEATURES, CLASSES = 60000, 784, 10
MODELS = {0: ("A", [784, 128, 10]), 1: ("B", [784, 512, 512, 10])}
STEP_BATCHES = [1, 10, 100, 1000, 10000, 60000]
EPOCH_BATCHES = [10, 100, 1000, 10000]


def macs(widths):
    return sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1))


def make_model(widths):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def make_optimizer(model):
    # The fastest CPU variant this torch offers (fused, else foreach, else the loop).
    for kw in ({"fused": True}, {"foreach": True}, {}):
        try:
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, **kw)
            return opt, (next(iter(kw)) if kw else "for-loop")
        except (RuntimeError, TypeError, ValueError):
            continue
    raise RuntimeError("no SGD")


class Torch:
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(EXAMPLES, FEATURES, generator=g)
        self.y = torch.randint(0, CLASSES, (EXAMPLES,), generator=g)
        self.optimizer_kind = None

    def _step(self, model, opt, idx):
        xb = self.x.index_select(0, idx)
        yb = self.y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    def step(self, widths, batch, min_time):
        """Seconds per step (wall, cpu)."""
        torch.manual_seed(1)
        model = make_model(widths)
        opt, self.optimizer_kind = make_optimizer(model)
        perm = torch.randperm(EXAMPLES)
        chunks = list(perm.split(batch))
        for k in range(min(3, len(chunks))):
            self._step(model, opt, chunks[k])
        n, k = 0, 0
        w0, c0 = time.perf_counter(), time.process_time()
        while True:
            self._step(model, opt, chunks[k])
            k = (k + 1) % len(chunks)
            n += 1
            if time.perf_counter() - w0 >= min_time:
                break
        return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n

    def epoch(self, widths, batch, epochs=1):
        torch.manual_seed(1)
        model = make_model(widths)
        opt, _ = make_optimizer(model)
        self._step(model, opt, torch.randperm(EXAMPLES)[:batch])  # warm-up
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(epochs):
            perm = torch.randperm(EXAMPLES)
            for idx in perm.split(batch):
                self._step(model, opt, idx)
        return (time.perf_counter() - w0) / epochs, (time.process_time() - c0) / epochs


def ours(binary, name, threads, min_time):
    """Seconds per iteration (wall, cpu) of one bench_cpu benchmark, in its own process."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, f"--benchmark_filter=^{name}/real_time$", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], env=env, check=True, capture_output=True,
                         text=True).stdout
    report = json.loads(out)
    b = [x for x in report["benchmarks"] if x.get("run_type", "iteration") == "iteration"][0]
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return b["real_time"] * scale, b["cpu_time"] * scale, b, report["context"]


def fmt_time(s):
    return f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.2f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--results", default=None, help="append the tables to this markdown file")
    ap.add_argument("--skip-epochs", action="store_true")
    ap.add_argument("--epoch-batches", type=int, nargs="+", default=EPOCH_BATCHES)
    args = ap.parse_args()

    tb = Torch()
    work = []
    for m, (mname, widths) in MODELS.items():
        for batch in STEP_BATCHES:
            work.append(("step", m, batch))
    if not args.skip_epochs:
        for m in MODELS:
            for batch in args.epoch_batches:
                work.append(("epoch", m, batch))

    times = {}  # (kind, m, batch, threads) -> {"ours": [(w, c)], "torch": [(w, c)]}
    for r in range(args.rounds):
        for t in args.threads:
            torch.set_num_threads(t)
            for kind, m, batch in work:
                name = f"BM_{'Step' if kind == 'step' else 'Epoch'}/model:{m}/batch:{batch}"
                w, c, b, _ = ours(args.ours, name, t, args.min_time)
                eigen_threads = int(round(b.get("threads", 1)))
                if kind == "step":
                    tw, tc = tb.step(MODELS[m][1], batch, args.min_time)
                else:
                    tw, tc = tb.epoch(MODELS[m][1], batch)
                d = times.setdefault((kind, m, batch, t), {"ours": [], "torch": [], "eigen": eigen_threads,
                                                            "fma": b.get("fma_ceiling")})
                d["ours"].append((w, c))
                d["torch"].append((tw, tc))
                print(f"round {r} threads {t} {kind} {MODELS[m][0]} batch {batch}: ours {fmt_time(w)} "
                      f"torch {fmt_time(tw)} ratio {tw / w:.2f}", file=sys.stderr, flush=True)

    # Ours only: FMA ceiling, fused update vs copy (one thread).
    extra = {}
    for name in ["BM_FmaCeiling", "BM_MomentumUpdate/1000000", "BM_MomentumUpdate/10000000",
                 "BM_MomentumUpdate/100000000", "BM_Copy/1000000", "BM_Copy/10000000", "BM_Copy/100000000"]:
        runs = [ours(args.ours, name, 1, args.min_time)[2] for _ in range(args.rounds)]
        key = "GFLOPs" if name == "BM_FmaCeiling" else "GBps"
        extra[name] = (statistics.median(x[key] for x in runs),
                       statistics.median(x[key] * x["real_time"] / x["cpu_time"] for x in runs))

    med = lambda xs, i: statistics.median(x[i] for x in xs)
    fma_cpu = extra["BM_FmaCeiling"][1]
    lines = []
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines.append(f"## CPU: minibatch vs PyTorch, per step and per epoch ({date})\n")
    lines.append(f"`benchmarks/compare.sh` — machine: {cpu}, {os.cpu_count()} cores "
                 f"({platform.platform()}); ours: bench_cpu (Release, -march=native, OpenMP when found; "
                 f"Eigen threads per run below); "
                 f"PyTorch {torch.__version__} (SGD {tb.optimizer_kind}), "
                 f"Python {platform.python_version()}. {args.rounds} interleaved rounds; medians. "
                 f"ratio = PyTorch time / our time (> 1: we are faster). "
                 f"cpu ratio uses process CPU time (1 thread only; the cores were shared).\n")
    for t in args.threads:
        eig = {d["eigen"] for (k, m, b, tt), d in times.items() if tt == t}
        lines.append(f"\n### {t} thread(s) (ours: Eigen threads {sorted(eig)})\n")
        lines.append("| workload | model | batch | ours | PyTorch | ratio | cpu ratio | ours GFLOP/s (cpu) | % FMA ceiling |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for (kind, m, batch, tt), d in times.items():
            if tt != t:
                continue
            ow, oc = med(d["ours"], 0), med(d["ours"], 1)
            pw, pc = med(d["torch"], 0), med(d["torch"], 1)
            examples = batch if kind == "step" else EXAMPLES
            gflops = 6 * macs(MODELS[m][1]) * examples / oc / 1e9
            cr = f"{pc / oc:.2f}" if t == 1 else "–"
            pct = f"{100 * gflops / fma_cpu:.0f}%" if t == 1 else "–"
            lines.append(f"| {kind} | {MODELS[m][0]} | {batch} | {fmt_time(ow)} | {fmt_time(pw)} | "
                         f"{pw / ow:.2f} | {cr} | {gflops:.1f} | {pct} |")
    lines.append("\n### Ours alone, 1 thread\n")
    lines.append(f"FMA ceiling (bench_cpu BM_FmaCeiling, 12 independent chains): {extra['BM_FmaCeiling'][0]:.1f} GFLOP/s "
                 f"wall, {fma_cpu:.1f} GFLOP/s per CPU second.\n")
    lines.append("| parameters | fused momentum update | std::copy of the same bytes | update / copy |")
    lines.append("| --- | --- | --- | --- |")
    for n in ["1000000", "10000000", "100000000"]:
        u, c = extra[f"BM_MomentumUpdate/{n}"][0], extra[f"BM_Copy/{n}"][0]
        lines.append(f"| {int(n):,} | {u:.1f} GB/s | {c:.1f} GB/s | {100 * u / c:.0f}% |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.results:
        with open(args.results, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
