#!/usr/bin/env python3
"""PyTorch on the GPU workloads of the issue: per-step and per-epoch times, FP32 matmul peak.

    python benchmarks/gpu/torch_cuda.py --out pytorch_gpu.jsonl            # on a CUDA machine
    python benchmarks/gpu/torch_cuda.py --device cpu --quick --out /tmp/t.jsonl   # smoke test

Workloads, float32 everywhere (TF32 off): MLP A = 784-128-10 and B = 784-512-512-10, ReLU,
F.cross_entropy (mean), torch.optim.SGD(lr=0.01, momentum=0.9, foreach=True). The data set
(X float32 [60000, 784] uniform [0, 1), Y int64 in 0..9, seeded) lives on the device.

One step: x = X.index_select(0, idx), y = Y.index_select(0, idx), forward, loss, backward,
optimizer step.
  eager — zero_grad(set_to_none=True) then the above, launched op by op from Python.
  graph — PyTorch's documented whole-network capture: 3 warm-up iterations on a side stream,
          zero_grad(set_to_none=True), then torch.cuda.graph(g) captures the gather
          (index_select(out=) into static buffers, reading a static idx tensor), forward, loss,
          backward and step. A step is static_idx.copy_(next indices) (device to device, outside
          the graph) followed by g.replay(). CUDA only.

per step  — >= 10 warm-up steps (the last 5 timed to choose K), then R repeats of K consecutive
            steps timed with CUDA events (perf_counter on cpu), K such that a repeat lasts
            >= --target-s (at least 3 steps); median and min over the R per-step times.
            Indices: consecutive slices of one device randperm, wrapping around.
per epoch — randperm on the device, then every batch in order (examples // batch steps), timed
            from before the randperm to torch.cuda.synchronize() after the last step; one epoch
            for batch <= 10, else the median of 3.
products  — (--products A B) each matrix product of the model's step alone, as autograd issues it
            for nn.Linear (W is out x in): forward x @ W.T, weight gradient dY.T @ x, input gradient
            dY @ W (layers 2..), torch.mm(out=) on random operands: K calls captured in one CUDA
            graph (K such that a replay lasts ~10 ms, 5..1000), the median of 5 replays over K
            (on cpu K eager calls). The bias add of F.linear is not part of it, as bench_gpu's
            products are the GEMMs alone.
peak      — n x n x n float32 torch.matmul (n = 8192 on cuda, 2048 on cpu), 3 warm-ups, median
            of 10, TFLOP/s = 2 n^3 / t.

Output: JSON Lines (--out, flushed after each line; stdout without --out), one short line per
measurement on stderr. Records:
  {"kind":"step", "framework":"pytorch", "version", "device", "mode", "model", "batch",
   "step_ms_median", "step_ms_min", "steps_timed", ...}
  {"kind":"epoch", "framework":"pytorch", "version", "device", "mode", "model", "batch",
   "epoch_s", "epochs_timed", ...}
  {"kind":"product", "framework":"pytorch", "mode", "model", "batch", "product", "rows", "cols",
   "inner", "ms_median", "tflops", "calls_per_replay", ...}
  {"kind":"fp32_matmul_peak", "tflops", "device", ...}
plus "config", "graph_check", "error" and "skipped" records that tables may ignore.
graph_check (cuda): 6 steps of A at batch 100 eager and through the graph (3 side-stream warm-ups,
3 replays) from the same weights on the same batches must end at the same weights.
Order: peak, graph check, per step (model by model, eager then graph), epochs (largest batch
first, eager and graph side by side), products. --time-limit (default 150 s) stops starting new
measurements once that many seconds have passed; what was measured is already written.
"""
import argparse
import contextlib
import datetime
import gc
import json
import math
import platform
import statistics
import sys
import time
import traceback

import torch
import torch.nn.functional as F

FEATURES, CLASSES = 784, 10
MODELS = {"A": [784, 128, 10], "B": [784, 512, 512, 10]}
DEFAULT_BATCHES = [1, 10, 100, 1000, 10000, 60000]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        self.cuda = self.device.type == "cuda"
        self.emulate_graph = (not self.cuda) and args.emulate_graph_on_cpu
        if self.cuda and self.device.index is not None:
            torch.cuda.set_device(self.device)  # events, streams and graphs use the current device
        self.device_name = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        self.t0 = time.perf_counter()
        self.out = open(args.out, "w") if args.out else sys.stdout
        self.skipped = []
        gen = torch.Generator(device=self.device).manual_seed(args.seed)
        n = args.examples
        self.X = torch.rand(n, FEATURES, device=self.device, generator=gen)
        self.Y = torch.randint(0, CLASSES, (n,), device=self.device, generator=gen)
        self.gen = gen
        self.sync()

    # ---- plumbing -------------------------------------------------------------------------
    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def emit(self, rec):
        base = {"framework": "pytorch", "version": torch.__version__, "device": self.device_name}
        base.update(rec)
        self.out.write(json.dumps(base) + "\n")
        self.out.flush()

    def elapsed(self):
        return time.perf_counter() - self.t0

    def over_time(self, what):
        if self.elapsed() > self.args.time_limit:
            self.skipped.append(what)
            log(f"skip {what}: time limit {self.args.time_limit:g} s reached ({self.elapsed():.0f} s)")
            return True
        return False

    def timed(self, fn, k):
        """Seconds for k calls of fn(); CUDA events on cuda, perf_counter on cpu."""
        self.sync()
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(k):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3
        t = time.perf_counter()
        for _ in range(k):
            fn()
        return time.perf_counter() - t

    def graph_modes_ok(self, mode):
        return mode == "eager" or self.cuda or self.emulate_graph

    # ---- measurements ---------------------------------------------------------------------
    def batch_stream(self, batch):
        """Endless consecutive slices of one device randperm, wrapping around."""
        n = self.args.examples
        perm = torch.randperm(n, device=self.device, generator=self.gen)
        ext = torch.cat([perm, perm[:batch]])  # any slice [s, s + batch) with s < n is in ext
        s = 0
        while True:
            yield ext[s:s + batch]
            s = (s + batch) % n

    def step_case(self, model_name, mode, batch):
        widths = MODELS[model_name]
        it = self.batch_stream(batch)
        tr = Trainer(self, widths, mode, batch, it)
        nxt = it.__next__
        step = lambda: tr.step(nxt())
        # Warm-up: >= 10 steps, the last 5 timed to choose K.
        warm = max(10, self.args.warmup)
        for _ in range(warm - 5):
            step()
        est = self.timed(step, 5) / 5
        k = max(3, min(10 ** 6, math.ceil(self.args.target_s / max(est, 1e-9))))
        per = [self.timed(step, k) / k for _ in range(self.args.repeats)]
        loss = tr.last_loss()
        med, mn = statistics.median(per), min(per)
        rec = {"kind": "step", "mode": tr.mode_label, "model": model_name, "batch": batch,
               "step_ms_median": med * 1e3, "step_ms_min": mn * 1e3, "steps_timed": k * self.args.repeats,
               "repeats": self.args.repeats, "steps_per_repeat": k, "step_ms_all": [p * 1e3 for p in per],
               "warmup_step_ms": est * 1e3, "examples": self.args.examples, "final_loss": loss}
        self.emit(rec)
        log(f"step  {tr.mode_label:6s} {model_name} batch {batch:6d}: median {med * 1e3:.4g} ms, "
            f"min {mn * 1e3:.4g} ms ({self.args.repeats} x {k} steps, loss {loss:.4g}) [{self.elapsed():.0f} s]")

    def epoch_case(self, model_name, mode, batch):
        widths = MODELS[model_name]
        n = self.args.examples
        steps = n // batch
        if n % batch:
            log(f"note: {n} % {batch} != 0; an epoch is {steps} full batches")
        warm_it = self.batch_stream(batch)
        tr = Trainer(self, widths, mode, batch, warm_it)
        for _ in range(max(10, self.args.warmup)):
            tr.step(next(warm_it))
        epochs = 1 if batch <= 10 else 3
        times = []
        for _ in range(epochs):
            self.sync()
            t = time.perf_counter()
            perm = torch.randperm(n, device=self.device, generator=self.gen)
            for i in range(steps):
                tr.step(perm[i * batch:(i + 1) * batch])
            self.sync()
            times.append(time.perf_counter() - t)
        loss = tr.last_loss()
        med = statistics.median(times)
        self.emit({"kind": "epoch", "mode": tr.mode_label, "model": model_name, "batch": batch,
                   "epoch_s": med, "epoch_s_min": min(times), "epochs_timed": epochs, "epoch_s_all": times,
                   "steps_per_epoch": steps, "examples": n, "final_loss": loss})
        log(f"epoch {tr.mode_label:6s} {model_name} batch {batch:6d}: median {med:.4g} s over {epochs} "
            f"epoch(s) of {steps} steps (loss {loss:.4g}) [{self.elapsed():.0f} s]")

    def per_call_ms(self, fn):
        """(ms per call of fn, calls per replay): K calls in one CUDA graph, median of 5 replays."""
        fn()
        est = self.timed(fn, 1)
        k = max(5, min(1000, math.ceil(0.01 / max(est, 1e-7))))
        if not self.cuda:
            return statistics.median(self.timed(fn, k) / k for _ in range(5)) * 1e3, k
        side = torch.cuda.Stream(device=self.device)  # warm-up off the capture stream, as documented
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                fn()
        torch.cuda.current_stream(self.device).wait_stream(side)
        self.sync()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(k):
                fn()
        graph.replay()
        return statistics.median(self.timed(graph.replay, 1) / k for _ in range(5)) * 1e3, k

    def product_case(self, model_name, batch):
        gen = torch.Generator(device=self.device).manual_seed(self.args.seed + 3)
        rand = lambda *shape: torch.rand(*shape, device=self.device, generator=gen) * 2 - 1
        for name, a, b, transpose_b in products_of(MODELS[model_name], batch, rand):
            if self.over_time(f"product {model_name} {batch} {name}"):
                return
            c = torch.empty(a.shape[0], b.shape[0] if transpose_b else b.shape[1], device=self.device)
            bb = b.t() if transpose_b else b
            ms, k = self.per_call_ms(lambda: torch.mm(a, bb, out=c))
            rows, inner, cols = a.shape[0], a.shape[1], c.shape[1]
            self.emit({"kind": "product", "mode": "graph" if self.cuda else "eager", "model": model_name,
                       "batch": batch, "product": name, "rows": rows, "cols": cols, "inner": inner,
                       "ms_median": ms, "tflops": 2.0 * rows * cols * inner / ms / 1e9, "calls_per_replay": k})
            log(f"product {model_name} batch {batch:6d} {name:18s} {rows} x {cols} x {inner}: {ms * 1e3:.4g} us "
                f"[{self.elapsed():.0f} s]")

    def peak(self):
        n = self.args.peak_size or (8192 if self.cuda else 2048)
        gen = torch.Generator(device=self.device).manual_seed(self.args.seed + 1)
        a = torch.rand(n, n, device=self.device, generator=gen)
        b = torch.rand(n, n, device=self.device, generator=gen)
        c = torch.empty(n, n, device=self.device)
        mm = lambda: torch.matmul(a, b, out=c)
        for _ in range(3):
            mm()
        ts = [self.timed(mm, 1) for _ in range(10)]
        med = statistics.median(ts)
        flop = 2.0 * n ** 3
        rec = {"kind": "fp32_matmul_peak", "tflops": flop / med / 1e12, "tflops_max": flop / min(ts) / 1e12,
               "n": n, "ms_median": med * 1e3, "ms_all": [t * 1e3 for t in ts]}
        self.emit(rec)
        log(f"peak  fp32 matmul {n}^3: {rec['tflops']:.2f} TFLOP/s median, {rec['tflops_max']:.2f} best "
            f"[{self.elapsed():.0f} s]")

    def graph_check(self, model_name="A", batch=100, steps=6):
        """Eager and graph from the same initial weights on the same batches: same weights after."""
        it = self.batch_stream(batch)
        idx = [next(it).clone() for _ in range(steps)]
        eager = Trainer(self, MODELS[model_name], "eager", batch, None)
        for i in idx:
            eager.step(i)
        warm = iter(idx)
        graph = Trainer(self, MODELS[model_name], "graph", batch, warm)  # consumes 3 batches
        for i in warm:
            graph.step(i)
        self.sync()
        diff = max((p - q).abs().max().item() for p, q in zip(eager.model.parameters(), graph.model.parameters()))
        scale = max(p.abs().max().item() for p in eager.model.parameters())
        moved = max((p - q).abs().max().item() for p, q in
                    zip(eager.model.parameters(), Trainer.initial_model(self, MODELS[model_name]).parameters()))
        ok = diff <= 1e-5 * max(1.0, scale) and moved > 0
        self.emit({"kind": "graph_check", "mode": graph.mode_label, "model": model_name, "batch": batch,
                   "steps": steps, "max_abs_diff": diff, "max_abs_weight": scale, "max_abs_update": moved,
                   "ok": ok})
        log(f"graph check {model_name} batch {batch}, {steps} steps: eager vs {graph.mode_label} weights differ by "
            f"{diff:.3g} (updates up to {moved:.3g}) -> {'ok' if ok else 'MISMATCH'}")

    def cleanup(self):
        gc.collect()
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()

    def guarded(self, what, fn, *a):
        if self.over_time(what):
            return
        try:
            fn(*a)
        except Exception as e:  # keep going: device time is scarce
            log(f"ERROR in {what}: {e!r}\n{traceback.format_exc()}")
            self.emit({"kind": "error", "what": what, "error": repr(e)})
        try:  # the measurement's model, optimizer and graph (and its memory pool) go here
            self.cleanup()
        except Exception as e:
            log(f"ERROR in cleanup after {what}: {e!r}")


def products_of(widths, batch, rand):
    """[(name, a, b, transpose_b)]: the products of one step as autograd issues them for nn.Linear
    layers (W out x in), forward first, then backward from the last layer: a @ (b.T if transpose_b
    else b). a's transpose in the weight gradient is a view, as autograd's mm sees it."""
    forward, backward = [], []
    for l in range(1, len(widths)):
        i, o = widths[l - 1], widths[l]
        forward.append((f"forward {l}", rand(batch, i), rand(o, i), True))
        backward.append((f"weight gradient {l}", rand(batch, o).t(), rand(batch, i), False))
        if l > 1:
            backward.append((f"input gradient {l}", rand(batch, o), rand(o, i), False))
    return forward + backward[::-1]


class Trainer:
    """One model + optimizer; step(idx) does one training step on the rows idx of X, Y."""

    @staticmethod
    def initial_model(bench, widths):
        torch.manual_seed(bench.args.seed + 2)
        layers = []
        for i in range(len(widths) - 1):
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i + 2 < len(widths):
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers).to(bench.device)

    def __init__(self, bench, widths, mode, batch, idx_iter):
        self.b = bench
        self.X, self.Y = bench.X, bench.Y
        self.model = Trainer.initial_model(bench, widths)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, foreach=True)
        self.loss = None
        self.mode = mode
        self.mode_label = mode
        if mode == "graph":
            if not bench.cuda:
                if not bench.emulate_graph:
                    raise RuntimeError("graph mode needs cuda")
                self.mode_label = "graph-emulated"
            self.capture(batch, idx_iter)
        elif mode != "eager":
            raise ValueError(mode)

    def step(self, idx):
        if self.mode == "eager":
            self.eager_step(idx)
        else:
            self.graph_step(idx)

    def eager_step(self, idx):
        x = self.X.index_select(0, idx)
        y = self.Y.index_select(0, idx)
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        self.loss = loss

    def body(self):
        torch.index_select(self.X, 0, self.static_idx, out=self.static_x)
        torch.index_select(self.Y, 0, self.static_idx, out=self.static_y)
        loss = F.cross_entropy(self.model(self.static_x), self.static_y)
        loss.backward()
        self.opt.step()
        return loss

    def capture(self, batch, idx_iter, warm=3):
        dev = self.b.device
        self.static_idx = torch.zeros(batch, dtype=torch.int64, device=dev)
        self.static_x = torch.empty(batch, FEATURES, device=dev)
        self.static_y = torch.empty(batch, dtype=torch.int64, device=dev)
        real = self.b.cuda
        # Warm-up on a side stream, on real batches (it includes optimizer steps).
        s = torch.cuda.Stream(device=dev) if real else None
        if real:
            s.wait_stream(torch.cuda.current_stream(dev))
        with (torch.cuda.stream(s) if real else contextlib.nullcontext()):
            for _ in range(warm):
                self.static_idx.copy_(next(idx_iter))
                self.opt.zero_grad(set_to_none=True)
                self.body()
        if real:
            torch.cuda.current_stream(dev).wait_stream(s)
            torch.cuda.synchronize(dev)
        # Grads to None so that backward allocates them from the graph's private pool.
        self.opt.zero_grad(set_to_none=True)
        if real:
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.static_loss = self.body()
            self.replay = self.graph.replay
        else:  # cpu emulation of the replay's semantics: backward overwrites the grads
            def replay():
                self.opt.zero_grad(set_to_none=True)
                self.static_loss = self.body()
            self.static_loss = None
            self.replay = replay

    def graph_step(self, idx):
        self.static_idx.copy_(idx)
        self.replay()
        self.loss = self.static_loss

    def last_loss(self):
        return float(self.loss.item()) if self.loss is not None else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    ap.add_argument("--out", default=None, help="JSON Lines file (default: stdout)")
    ap.add_argument("--models", nargs="*", default=["A", "B"], choices=sorted(MODELS))
    ap.add_argument("--modes", nargs="+", default=["eager", "graph"], choices=["eager", "graph"])
    ap.add_argument("--batches", type=int, nargs="+", default=None, help=f"default {DEFAULT_BATCHES}")
    ap.add_argument("--epoch-models", nargs="*", default=["B"], choices=sorted(MODELS))
    ap.add_argument("--epoch-batches", type=int, nargs="*", default=None, help="default: --batches")
    ap.add_argument("--products", nargs="*", default=[], choices=sorted(MODELS),
                    help="models whose step's matrix products are timed one by one (default none)")
    ap.add_argument("--examples", type=int, default=None, help="rows of the data set (default 60000)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target-s", type=float, default=None, help="seconds per repeat (default 0.1)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--peak-size", type=int, default=None, help="matmul n (default 8192 cuda, 2048 cpu)")
    ap.add_argument("--no-peak", action="store_true")
    ap.add_argument("--no-graph-check", action="store_true")
    ap.add_argument("--time-limit", type=float, default=150.0,
                    help="start no new measurement after this many seconds (default 150)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (cpu work; --quick on cpu: 1)")
    ap.add_argument("--quick", action="store_true",
                    help="tiny run: 2000 examples, batches 1 100, epochs at 100 1000, 0.01 s repeats "
                         "(on cpu also peak n 1024 and 1 thread)")
    ap.add_argument("--emulate-graph-on-cpu", action="store_true",
                    help="testing aid: on cpu, run the graph mode's static-buffer code without a graph")
    args = ap.parse_args()

    if args.quick:
        args.examples = args.examples or 2000
        args.batches = args.batches or [1, 100]
        args.epoch_batches = args.epoch_batches if args.epoch_batches is not None else [100, 1000]
        args.target_s = args.target_s or 0.01
        if args.device.startswith("cpu"):
            args.peak_size = args.peak_size or 1024
            args.threads = args.threads or 1
    args.examples = args.examples or 60000
    args.batches = args.batches or list(DEFAULT_BATCHES)
    args.epoch_batches = args.epoch_batches if args.epoch_batches is not None else list(args.batches)
    args.target_s = args.target_s or 0.1
    for name in ("batches", "epoch_batches"):
        keep = [b for b in getattr(args, name) if 1 <= b <= args.examples]
        if len(keep) != len(getattr(args, name)):
            log(f"dropping --{name.replace('_', '-')} outside 1..{args.examples}")
        setattr(args, name, keep)

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("torch.cuda.is_available() is False; use --device cpu")

    if args.threads:
        torch.set_num_threads(args.threads)
    # FP32 everywhere, as ours: no TF32 in matmuls or cuDNN.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    bench = Bench(args)
    cfg = {"kind": "config", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "python": platform.python_version(), "cuda_runtime": torch.version.cuda,
           "examples": args.examples, "repeats": args.repeats, "target_s": args.target_s,
           "optimizer": "torch.optim.SGD(lr=0.01, momentum=0.9, foreach=True)",
           "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
           "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32, "threads": torch.get_num_threads(),
           "argv": sys.argv[1:]}
    try:
        cfg["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    except Exception as e:
        cfg["float32_matmul_precision"] = repr(e)
    if bench.cuda:
        p = torch.cuda.get_device_properties(bench.device)
        cfg.update({"sm_count": p.multi_processor_count, "capability": f"{p.major}.{p.minor}",
                    "memory_gib": round(p.total_memory / 2 ** 30, 1)})
    bench.emit(cfg)
    log(f"pytorch {torch.__version__} on {bench.device_name}; {args.examples} examples; "
        f"TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, cudnn {torch.backends.cudnn.allow_tf32}; "
        f"time limit {args.time_limit:g} s")

    modes = [m for m in args.modes if bench.graph_modes_ok(m)]
    if len(modes) != len(args.modes):
        log("graph mode skipped on cpu")
    if not args.no_peak:
        bench.guarded("fp32 matmul peak", bench.peak)
    if "graph" in modes and not args.no_graph_check:
        bench.guarded("graph check", bench.graph_check, "A", min(100, args.examples))
    # Per step: model by model, eager then graph. Epochs: largest batch first (the quick ones),
    # eager and graph side by side, so that a time limit leaves complete pairs.
    for model in args.models:
        for mode in modes:
            for batch in args.batches:
                bench.guarded(f"step {mode} {model} {batch}", bench.step_case, model, mode, batch)
    for model in args.epoch_models:
        for batch in sorted(args.epoch_batches, reverse=True):
            for mode in modes:
                bench.guarded(f"epoch {mode} {model} {batch}", bench.epoch_case, model, mode, batch)
    for model in args.products:
        for batch in args.batches:
            bench.guarded(f"products {model} {batch}", bench.product_case, model, batch)
    if bench.skipped:
        bench.emit({"kind": "skipped", "what": bench.skipped, "time_limit_s": args.time_limit})
    log(f"done in {bench.elapsed():.0f} s" + (f", {len(bench.skipped)} skipped" if bench.skipped else ""))
    if bench.out is not sys.stdout:
        bench.out.close()


if __name__ == "__main__":
    main()
