"""Side-by-side CPU timings of minibatch (bench_cpu) and PyTorch on the workloads of issue 6.

    python compare_pytorch.py --ours build/bench/benchmarks/bench_cpu [--threads 1 2]
        [--rounds 3] [--results benchmarks/RESULTS.md] [--no-torch]
        [--step-batches 1 10 …] [--epoch-batches 10 100 …] [--skip-epochs]

Workloads, float32: MLP A = 784-128-10 and B = 784-512-512-10, ReLU, CrossEntropyLoss
(mean), SGD momentum 0.9, lr 0.01, on 60000x784 synthetic features.
  step  — gather of a random batch (index_select), forward, loss, backward, update; the
          steps walk through the batches of one shuffled epoch on both sides.
  epoch — PyTorch's fastest plain loop: one randperm index tensor, index_select per batch,
          all steps; ours: train_loop with a new shuffle (no gradient norm).
Interleaved: in each round every workload runs, at each thread count in turn, ours (one
bench_cpu process with --benchmark_filter) and then PyTorch; the tables hold medians over
rounds of wall time, and for one thread also of CPU time (robust when other processes
share the cores). PyTorch gets torch.set_num_threads(t) (OpenMP and MKL), ours gets
OMP_NUM_THREADS=t (the matrix products; 1 thread if bench_cpu was built without OpenMP).
PyTorch runs with torch.set_flush_denormal(True) (its fastest setting: subnormal floats read
as and written as 0, as our optimizers store their decaying state; without it PyTorch's
momentum buffers of dead units decay through subnormals and every operation on them takes a
microcode assist) unless --torch-default-denormals is given.
A last table sets each thread count against one thread, for ours and PyTorch: the target
is never slower with more threads. --no-torch times ours alone (that table only).
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
from gpu_table import step_flops  # noqa: E402  (the FLOPs of one step, as the GPU tables count them)

torch = None  # imported in main() unless --no-torch

EXAMPLES, FEATURES, CLASSES = 60000, 784, 10
MODELS = {0: ("A", [784, 128, 10]), 1: ("B", [784, 512, 512, 10])}
STEP_BATCHES = [1, 10, 100, 1000, 10000, 60000]
EPOCH_BATCHES = [10, 100, 1000, 10000]


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
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
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


def med(xs, i):
    return statistics.median(x[i] for x in xs)


def user_args():
    """The command line as given to compare.sh: without the --ours and --results it adds (their
    paths are this machine's)."""
    out, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in ("--ours", "--results"):
            skip = True
        elif not a.startswith(("--ours=", "--results=")):
            out.append(a)
    return out


def header_lines(args, title, versus, notes):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = open("/proc/loadavg").read().split()[:3]
        load = f"load average at the end {', '.join(load)}"
    except OSError:
        load = "load unknown"
    return (f"## CPU: {title} ({date})\n\n"
            f"`benchmarks/compare.sh {' '.join(user_args())}` — machine: {cpu}, {os.cpu_count()} cores "
            f"({platform.platform()}; {load}); ours: bench_cpu (Release, -march=native, OpenMP when found; "
            f"threads per run below); {versus}, Python {platform.python_version()}. "
            f"{args.rounds} interleaved rounds; medians. {notes}\n")


def thread_table(args, times, with_torch):
    """Each thread count against one thread, per workload: medians and the speed-up."""
    if 1 not in args.threads or len(args.threads) < 2:
        return []
    lines = []
    for t in args.threads:
        if t == 1:
            continue
        lines.append(f"\n### {t} threads against 1 (speed-up = time at 1 / time at {t}; < 1: slower with more threads)\n")
        head = f"| workload | model | batch | ours 1 | ours {t} | ours speed-up | rounds slower |"
        rule = "| --- | --- | --- | --- | --- | --- | --- |"
        if with_torch:
            head += f" PyTorch 1 | PyTorch {t} | PyTorch speed-up |"
            rule += " --- | --- | --- |"
        lines += [head, rule]
        for (kind, m, batch, tt), d in times.items():
            if tt != t or (kind, m, batch, 1) not in times:
                continue
            one = times[(kind, m, batch, 1)]
            o1, ot = med(one["ours"], 0), med(d["ours"], 0)
            slower = sum(1 for a, b in zip(one["ours"], d["ours"]) if b[0] > a[0])
            row = (f"| {kind} | {MODELS[m][0]} | {batch} | {fmt_time(o1)} | {fmt_time(ot)} | {o1 / ot:.2f} | "
                   f"{slower}/{len(d['ours'])} |")
            if with_torch:
                p1, pt = med(one["torch"], 0), med(d["torch"], 0)
                row += f" {fmt_time(p1)} | {fmt_time(pt)} | {p1 / pt:.2f} |"
            lines.append(row)
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--results", default=None, help="append the tables to this markdown file")
    ap.add_argument("--skip-epochs", action="store_true")
    ap.add_argument("--step-batches", type=int, nargs="+", default=STEP_BATCHES)
    ap.add_argument("--epoch-batches", type=int, nargs="+", default=EPOCH_BATCHES)
    ap.add_argument("--no-torch", action="store_true", help="time ours alone: the thread table only")
    ap.add_argument("--torch-default-denormals", action="store_true",
                    help="leave PyTorch's subnormal handling as it is (default: torch.set_flush_denormal(True))")
    args = ap.parse_args()

    global torch
    if not args.no_torch:
        import torch as torch_module
        torch = torch_module
        if not args.torch_default_denormals and not torch.set_flush_denormal(True):
            print("warning: torch.set_flush_denormal is not supported on this CPU", file=sys.stderr)
    tb = None if args.no_torch else Torch()
    work = []
    for m, (mname, widths) in MODELS.items():
        for batch in args.step_batches:
            work.append(("step", m, batch))
    if not args.skip_epochs:
        for m in MODELS:
            for batch in args.epoch_batches:
                work.append(("epoch", m, batch))

    times = {}  # (kind, m, batch, threads) -> {"ours": [(w, c)], "torch": [(w, c)]}
    nan = float("nan")
    for r in range(args.rounds):
        for kind, m, batch in work:
            for t in args.threads:
                name = f"BM_{'Step' if kind == 'step' else 'Epoch'}/model:{m}/batch:{batch}"
                w, c, b, _ = ours(args.ours, name, t, args.min_time)
                eigen_threads = int(round(b.get("threads", 1)))
                if tb is None:
                    tw, tc = nan, nan
                else:
                    torch.set_num_threads(t)
                    tw, tc = tb.step(MODELS[m][1], batch, args.min_time) if kind == "step" else tb.epoch(MODELS[m][1], batch)
                d = times.setdefault((kind, m, batch, t), {"ours": [], "torch": [], "eigen": eigen_threads,
                                                            "fma": b.get("fma_ceiling")})
                d["ours"].append((w, c))
                d["torch"].append((tw, tc))
                print(f"round {r} threads {t} {kind} {MODELS[m][0]} batch {batch}: ours {fmt_time(w)} "
                      f"torch {fmt_time(tw) if tb else '-'} ratio {tw / w:.2f}", file=sys.stderr, flush=True)

    if tb is None:
        text = header_lines(args, "minibatch at 1 and more threads", "ours alone (--no-torch)",
                            "rounds slower: rounds in which more threads took longer than 1.")
        text += "\n".join(thread_table(args, times, with_torch=False)) + "\n"
        print(text)
        if args.results:
            with open(args.results, "a") as f:
                f.write("\n" + text)
        return

    # Ours only: FMA ceiling, fused update vs copy (one thread).
    extra = {}
    for name in ["BM_FmaCeiling", "BM_MomentumUpdate/1000000", "BM_MomentumUpdate/10000000",
                 "BM_MomentumUpdate/100000000", "BM_Copy/1000000", "BM_Copy/10000000", "BM_Copy/100000000"]:
        runs = [ours(args.ours, name, 1, args.min_time)[2] for _ in range(args.rounds)]
        key = "GFLOPs" if name == "BM_FmaCeiling" else "GBps"
        extra[name] = (statistics.median(x[key] for x in runs),
                       statistics.median(x[key] * x["real_time"] / x["cpu_time"] for x in runs))

    fma_cpu = extra["BM_FmaCeiling"][1]
    lines = [header_lines(args, "minibatch vs PyTorch, per step and per epoch",
                          f"PyTorch {torch.__version__} (SGD {tb.optimizer_kind}; "
                          f"{'subnormals as they are' if args.torch_default_denormals else 'set_flush_denormal(True)'})",
                          "ratio = PyTorch time / our time (> 1: we are faster). cpu ratio uses process CPU time "
                          "(1 thread only; the cores were shared). GFLOP/s counts the matrix products: forward and weight "
                          "gradient of every layer, input gradient of every layer but the first.")]
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
            gflops = step_flops(MODELS[m][1], examples)["total"] / oc / 1e9
            cr = f"{pc / oc:.2f}" if t == 1 else "–"
            pct = f"{100 * gflops / fma_cpu:.0f}%" if t == 1 else "–"
            lines.append(f"| {kind} | {MODELS[m][0]} | {batch} | {fmt_time(ow)} | {fmt_time(pw)} | "
                         f"{pw / ow:.2f} | {cr} | {gflops:.1f} | {pct} |")
    lines += thread_table(args, times, with_torch=True)
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
