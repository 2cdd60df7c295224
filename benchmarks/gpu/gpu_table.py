#!/usr/bin/env python3
"""Markdown tables of minibatch against PyTorch on the GPU, from JSON Lines measurements.

    python benchmarks/gpu/gpu_table.py ours.jsonl pytorch_gpu.jsonl [--out table.md]
    python benchmarks/gpu/gpu_table.py --self-test

Input records (one JSON object a line; unknown fields and unknown kinds are ignored):
  per step  — "framework" ("minibatch" | "pytorch"), "mode" ("eager" | "graph"), "model",
              "batch", "step_ms_median"
  per epoch — "framework", "mode", "model", "batch", "epoch_s"
  peak      — "kind": "fp32_matmul_peak", "tflops"
  product   — "kind": "product", "framework", "model", "batch", "product" (its name: "forward 1",
              "weight gradient 2", ...), "ms_median"; ours also "rows", "cols", "inner"
A later record for the same (framework, mode, model, batch) replaces an earlier one.

Output: a header (device, PyTorch version, date); for each model a per-step table (ms) and, where
measured, a per-epoch table (s), with rows = batch sizes and the ratios
  PyTorch eager / minibatch best   (best = the faster of our eager and graph)
  PyTorch graph / minibatch graph
(> 1: minibatch is faster); and for model B at batch 60000 the FLOP-bound time: the FLOPs of
one step over the measured FP32 matmul peak and over 67 TFLOP/s (the H100/H200 datasheet FP32
peak), with every measured per-step time as a multiple of both. Where products were timed, each
model also gets a table of its step's matrix products one by one (µs per call, ours and
PyTorch's, ratio), with their sum and what the graph step takes beyond it: the other kernels.
"""
import argparse
import datetime
import json
import math
import os
import sys
import tempfile

MODELS = {"A": [784, 128, 10], "B": [784, 512, 512, 10]}
DATASHEET_FP32_TFLOPS = 67.0
FLOP_MODEL, FLOP_BATCH = "B", 60000
DASH = "—"
COLUMNS = [("minibatch", "eager"), ("minibatch", "graph"), ("pytorch", "eager"), ("pytorch", "graph")]
LABEL = {"minibatch": "minibatch", "pytorch": "PyTorch"}


def step_flops(widths, n):
    """FLOPs of one training step of the MLP `widths` at batch n (matrix products only):
    forward 2·n·Σ w_i·w_{i+1}, weight gradients the same, input gradients of every layer but
    the first 2·n·Σ_{i>=1} w_i·w_{i+1}."""
    layers = [widths[i] * widths[i + 1] for i in range(len(widths) - 1)]
    forward = 2 * n * sum(layers)
    weight_grads = 2 * n * sum(layers)
    input_grads = 2 * n * sum(layers[1:])
    return {"forward": forward, "weight_grads": weight_grads, "input_grads": input_grads,
            "total": forward + weight_grads + input_grads}


def fmt_sig(v, digits=3):
    """digits significant digits, without exponent notation; — when missing."""
    if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
        return DASH
    if v == 0:
        return "0"
    r = float(f"{v:.{digits}g}")
    d = math.floor(math.log10(abs(r)))
    if d >= digits - 1:
        return f"{r:.0f}"
    return f"{r:.{digits - 1 - d}f}"


def fmt_ratio(num, den):
    if num is None or den is None or not den or not math.isfinite(num) or not math.isfinite(den):
        return DASH
    return f"{num / den:.2f}"


def load(paths, warn=lambda m: print(m, file=sys.stderr)):
    """{'step': {(fw, mode, model, batch): ms}, 'epoch': {...: s}, 'peak': [rec], 'meta': [rec]}"""
    data = {"step": {}, "epoch": {}, "peak": [], "meta": [], "product": {}, "shape": {}}
    for path in paths:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    warn(f"{path}:{lineno}: not JSON ({e}); skipped")
                    continue
                if not isinstance(rec, dict):
                    continue
                data["meta"].append(rec)
                if rec.get("kind") == "product":
                    try:
                        fw, model, batch = str(rec["framework"]).lower(), str(rec["model"]), int(rec["batch"])
                        name, ms = str(rec["product"]), float(rec["ms_median"])
                    except (KeyError, TypeError, ValueError):
                        warn(f"{path}:{lineno}: product record without framework/model/batch/product/ms; skipped")
                        continue
                    data["product"][(fw, model, batch, name)] = ms
                    if fw == "minibatch" and all(isinstance(rec.get(f), int) for f in ("rows", "cols", "inner")):
                        data["shape"][(model, batch, name)] = (rec["rows"], rec["cols"], rec["inner"])
                    continue
                if rec.get("kind") == "fp32_matmul_peak":
                    if isinstance(rec.get("tflops"), (int, float)):
                        data["peak"].append(rec)
                    continue
                for kind, field in (("step", "step_ms_median"), ("epoch", "epoch_s")):
                    if field not in rec:
                        continue
                    try:
                        key = (str(rec["framework"]).lower(), str(rec["mode"]), str(rec["model"]),
                               int(rec["batch"]))
                        value = float(rec[field])
                    except (KeyError, TypeError, ValueError):
                        warn(f"{path}:{lineno}: {kind} record without framework/mode/model/batch; skipped")
                        continue
                    if key[0] not in LABEL or key[1] not in ("eager", "graph"):
                        warn(f"{path}:{lineno}: framework {key[0]!r} mode {key[1]!r} not tabulated")
                        continue
                    if key in data[kind]:
                        warn(f"{path}:{lineno}: {kind} {key} measured again; the later one is used")
                    data[kind][key] = value
    return data


def model_order(names):
    return sorted(names, key=lambda m: (m not in MODELS, list(MODELS).index(m) if m in MODELS else 0, m))


def widths_text(model):
    return "-".join(map(str, MODELS[model])) if model in MODELS else "?"


def table(values, model, unit):
    batches = sorted({k[3] for k in values if k[2] == model})
    head = (["batch"] + [f"{LABEL[fw]} {mode} ({unit})" for fw, mode in COLUMNS]
            + ["PyTorch eager / minibatch best", "PyTorch graph / minibatch graph"])
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---:"] * len(head)) + " |"]
    for b in batches:
        v = {c: values.get((c[0], c[1], model, b)) for c in COLUMNS}
        ours = [x for x in (v[("minibatch", "eager")], v[("minibatch", "graph")]) if x is not None]
        best = min(ours) if ours else None
        cells = ([str(b)] + [fmt_sig(v[c]) for c in COLUMNS]
                 + [fmt_ratio(v[("pytorch", "eager")], best),
                    fmt_ratio(v[("pytorch", "graph")], v[("minibatch", "graph")])])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def product_table(data, model):
    """Rows (batch, product) in the order measured, then per batch the sum of the products and the
    graph step's time beyond that sum (the gather, bias and activation, loss, update kernels)."""
    names = {}
    for fw, m, b, name in data["product"]:
        if m == model and name not in names.setdefault(b, []):
            names[b].append(name)
    head = ["batch", "product", "shape", "minibatch (µs)", "PyTorch (µs)", "PyTorch / minibatch"]
    lines = ["| " + " | ".join(head) + " |", "| ---: | --- | --- | ---: | ---: | ---: |"]

    def us(fw, b, name):
        ms = data["product"].get((fw, model, b, name))
        return None if ms is None else 1e3 * ms

    for b in sorted(names):
        sums = {"minibatch": 0.0, "pytorch": 0.0}
        for name in names[b]:
            ours, theirs = us("minibatch", b, name), us("pytorch", b, name)
            for fw, v in (("minibatch", ours), ("pytorch", theirs)):
                sums[fw] = None if v is None or sums[fw] is None else sums[fw] + v
            shape = data["shape"].get((model, b, name))
            lines.append(f"| {b} | {name} | {' × '.join(map(str, shape)) if shape else DASH} | {fmt_sig(ours)} | "
                         f"{fmt_sig(theirs)} | {fmt_ratio(theirs, ours)} |")
        lines.append(f"| {b} | **all products** | | {fmt_sig(sums['minibatch'])} | {fmt_sig(sums['pytorch'])} | "
                     f"{fmt_ratio(sums['pytorch'], sums['minibatch'])} |")
        rest = {}
        for fw in ("minibatch", "pytorch"):
            step = data["step"].get((fw, "graph", model, b))
            rest[fw] = 1e3 * step - sums[fw] if step is not None and sums[fw] is not None else None
        lines.append(f"| {b} | graph step − products | | {fmt_sig(rest['minibatch'])} | "
                     f"{fmt_sig(rest['pytorch'])} | {fmt_ratio(rest['pytorch'], rest['minibatch'])} |")
    return lines


def distinct(recs, field, framework=None):
    out = []
    for r in recs:
        if framework and str(r.get("framework", "")).lower() != framework:
            continue
        x = r.get(field)
        if isinstance(x, str) and x and x not in out:
            out.append(x)
    return out


def make_markdown(data, today=None):
    meta = data["meta"]
    today = today or datetime.date.today().isoformat()
    lines = ["# minibatch vs PyTorch on the GPU", ""]
    dev_ours = distinct(meta, "device", "minibatch")
    dev_torch = distinct(meta, "device", "pytorch")
    devices = dev_ours + [d for d in dev_torch if d not in dev_ours]
    if dev_ours and dev_torch and set(dev_ours) != set(dev_torch):
        dev_text = f"minibatch on {', '.join(dev_ours)}; PyTorch on {', '.join(dev_torch)}"
    else:
        dev_text = ", ".join(devices) or "unknown"
    versions = distinct(meta, "version", "pytorch")
    dates = sorted({d[:10] for d in distinct(meta, "date")})
    lines.append(f"Device: {dev_text}. PyTorch {', '.join(versions) or 'unknown'}. "
                 f"Measured {', '.join(dates) if dates else 'unknown date'}; table made {today}.")
    lines.append("")
    lines.append("Float32 (TF32 off), softmax cross-entropy (mean), SGD lr 0.01 momentum 0.9; one step = "
                 "gather of the batch from the device-resident data set, forward, loss, backward, update. "
                 "eager: kernels launched one by one; graph: the whole step replayed as one CUDA graph. "
                 "PyTorch (benchmarks/gpu/torch_cuda.py): per step the median of 5 repeats, per epoch the median "
                 "of 3 epochs (1 for batch ≤ 10). "
                 "Ratios > 1: minibatch is faster; \"minibatch best\" is the faster of its eager and graph.")
    models = model_order({k[2] for k in data["step"]} | {k[2] for k in data["epoch"]}
                         | {k[1] for k in data["product"]})
    for model in models:
        lines += ["", f"## Model {model} ({widths_text(model)})"]
        if any(k[2] == model for k in data["step"]):
            lines += ["", "Per step:", ""] + table(data["step"], model, "ms")
        if any(k[2] == model for k in data["epoch"]):
            lines += ["", "Per epoch:", ""] + table(data["epoch"], model, "s")
        if any(k[1] == model for k in data["product"]):
            lines += ["", "The step's matrix products, each alone (K calls in one CUDA graph, µs per call; "
                      "shape: rows × cols × inner of ours; PyTorch's weight gradients are the transposed "
                      "product, out × in):", ""] + product_table(data, model)
    lines += ["", *flop_bound(data)]
    return "\n".join(lines) + "\n"


def flop_bound(data, model=FLOP_MODEL, n=FLOP_BATCH):
    f = step_flops(MODELS[model], n)
    lines = [f"## FLOP-bound time, model {model} at batch {n}", ""]
    peak_rec = max(data["peak"], key=lambda r: r["tflops"]) if data["peak"] else None
    peaks = [f"{fmt_sig(r['tflops'])} TFLOP/s ({r.get('framework', '?')}"
             + (f", {r['n']}³" if "n" in r else "") + ")" for r in data["peak"]]
    t_sheet = f["total"] / (DATASHEET_FP32_TFLOPS * 1e12) * 1e3
    t_peak = f["total"] / (peak_rec["tflops"] * 1e12) * 1e3 if peak_rec else None
    lines.append(f"One step: {f['total'] / 1e9:.1f} GFLOP = forward {f['forward'] / 1e9:.1f} + weight gradients "
                 f"{f['weight_grads'] / 1e9:.1f} + input gradients (layers 2..) {f['input_grads'] / 1e9:.1f}. "
                 + (f"At the measured FP32 matmul peak {fmt_sig(peak_rec['tflops'])} TFLOP/s that takes "
                    f"{fmt_sig(t_peak)} ms" if peak_rec else "No FP32 peak was measured")
                 + f"; at {DATASHEET_FP32_TFLOPS:g} TFLOP/s (H100/H200 datasheet FP32) {fmt_sig(t_sheet)} ms."
                 + (f" Measured peaks: {'; '.join(peaks)}." if len(peaks) > 1 else ""))
    lines += ["", "| | per step (ms) | × FLOP-bound at measured peak | × FLOP-bound at 67 TFLOP/s |",
              "| --- | ---: | ---: | ---: |"]
    for fw, mode in COLUMNS:
        t = data["step"].get((fw, mode, model, n))
        lines.append(f"| {LABEL[fw]} {mode} | {fmt_sig(t)} | {fmt_ratio(t, t_peak)} | {fmt_ratio(t, t_sheet)} |")
    return lines


def self_test():
    ours = [
        {"framework": "minibatch", "mode": "eager", "model": "A", "batch": 1, "step_ms_median": 0.02,
         "flops": 123, "device": "NVIDIA H200", "extra": {"x": 1}},
        {"framework": "minibatch", "mode": "graph", "model": "A", "batch": 1, "step_ms_median": 0.01},
        {"framework": "minibatch", "mode": "eager", "model": "B", "batch": 60000, "step_ms_median": 5.0},
        {"framework": "minibatch", "mode": "graph", "model": "B", "batch": 60000, "step_ms_median": 4.0},
        {"framework": "minibatch", "mode": "eager", "model": "B", "batch": 100, "epoch_s": 0.5},
        {"framework": "minibatch", "mode": "graph", "model": "B", "batch": 100, "epoch_s": 0.25},
        {"framework": "minibatch", "kind": "something_else", "value": 3},
        {"framework": "minibatch", "mode": "graph", "model": "A", "batch": 1000, "step_ms_median": 0.08},
        {"framework": "minibatch", "kind": "product", "model": "A", "batch": 1000, "product": "forward 1",
         "rows": 1000, "cols": 128, "inner": 784, "ms_median": 0.004},
        {"framework": "minibatch", "kind": "product", "model": "A", "batch": 1000, "product": "weight gradient 1",
         "rows": 784, "cols": 128, "inner": 1000, "ms_median": 0.02},
    ]
    torch = [
        {"framework": "pytorch", "kind": "config", "version": "2.11.0+cu130", "device": "NVIDIA H200",
         "date": "2026-01-02T03:04:05+00:00"},
        {"kind": "fp32_matmul_peak", "framework": "pytorch", "tflops": 50.0, "device": "NVIDIA H200", "n": 8192},
        {"framework": "pytorch", "version": "2.11.0+cu130", "device": "NVIDIA H200", "mode": "eager",
         "model": "A", "batch": 1, "step_ms_median": 0.2, "step_ms_min": 0.19, "steps_timed": 100},
        {"framework": "pytorch", "mode": "graph", "model": "A", "batch": 1, "step_ms_median": 0.05},
        {"framework": "pytorch", "mode": "eager", "model": "A", "batch": 10, "step_ms_median": 12345.6},
        {"framework": "pytorch", "mode": "eager", "model": "B", "batch": 60000, "step_ms_median": 6.0},
        {"framework": "pytorch", "mode": "graph", "model": "B", "batch": 60000, "step_ms_median": 5.5},
        {"framework": "pytorch", "mode": "eager", "model": "B", "batch": 100, "epoch_s": 1.0, "epochs_timed": 3},
        {"framework": "pytorch", "mode": "graph", "model": "A", "batch": 1000, "step_ms_median": 0.07},
        {"framework": "pytorch", "kind": "product", "mode": "graph", "model": "A", "batch": 1000,
         "product": "forward 1", "rows": 1000, "cols": 128, "inner": 784, "ms_median": 0.005},
        {"framework": "pytorch", "kind": "product", "mode": "graph", "model": "A", "batch": 1000,
         "product": "weight gradient 1", "rows": 128, "cols": 784, "inner": 1000, "ms_median": 0.01},
    ]
    with tempfile.TemporaryDirectory() as d:
        pa, pb = os.path.join(d, "ours.jsonl"), os.path.join(d, "torch.jsonl")
        with open(pa, "w") as f:
            f.write("\n".join(json.dumps(r) for r in ours) + "\n\nnot json\n")
        with open(pb, "w") as f:
            f.write("\n".join(json.dumps(r) for r in torch) + "\n")
        warnings = []
        md = make_markdown(load([pa, pb], warn=warnings.append), today="2026-01-03")
    print(md)
    rows = {line for line in md.splitlines() if line.startswith("|")}
    # A, batch 1: ours eager 0.02, graph 0.01 (best); torch eager 0.2 -> 20.00, graph 0.05 -> 5.00
    assert "| 1 | 0.0200 | 0.0100 | 0.200 | 0.0500 | 20.00 | 5.00 |" in rows, rows
    # A, batch 10: only PyTorch eager, 3 significant digits, no exponent
    assert "| 10 | — | — | 12300 | — | — | — |" in rows, rows
    # B epoch, batch 100: best ours 0.25 -> 4.00; no PyTorch graph
    assert "| 100 | 0.500 | 0.250 | 1.00 | — | 4.00 | — |" in rows, rows
    f = step_flops(MODELS["B"], 60000)
    assert f["forward"] == 2 * 60000 * (784 * 512 + 512 * 512 + 512 * 10)
    assert f["input_grads"] == 2 * 60000 * (512 * 512 + 512 * 10)
    assert f["total"] == 192552960000, f
    t_peak, t_sheet = f["total"] / 50e12 * 1e3, f["total"] / 67e12 * 1e3  # 3.851 ms, 2.874 ms
    assert f"| minibatch graph | 4.00 | {4.0 / t_peak:.2f} | {4.0 / t_sheet:.2f} |" in rows, rows
    assert f"| PyTorch eager | 6.00 | {6.0 / t_peak:.2f} | {6.0 / t_sheet:.2f} |" in rows, rows
    assert "Device: NVIDIA H200. PyTorch 2.11.0+cu130. Measured 2026-01-02; table made 2026-01-03." in md, md
    assert "192.6 GFLOP" in md and "3.85 ms" in md and "2.87 ms" in md, md
    assert any("not JSON" in w for w in warnings), warnings
    # products of A at batch 1000: 4 and 20 µs against 5 and 10; sums 24 and 15; the graph steps
    # (80 and 70 µs) spend 56 and 55 µs beyond them
    assert "| 1000 | forward 1 | 1000 × 128 × 784 | 4.00 | 5.00 | 1.25 |" in rows, rows
    assert "| 1000 | weight gradient 1 | 784 × 128 × 1000 | 20.0 | 10.0 | 0.50 |" in rows, rows
    assert "| 1000 | **all products** | | 24.0 | 15.0 | 0.62 |" in rows, rows
    assert "| 1000 | graph step − products | | 56.0 | 55.0 | 0.98 |" in rows, rows
    assert [fmt_sig(x) for x in (0.0123456, 1.0, 9.996, 99.95, 123.4, 0)] == \
        ["0.0123", "1.00", "10.0", "100", "123", "0"]
    print("self-test passed", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="JSON Lines files (ours and PyTorch's)")
    ap.add_argument("--out", default=None, help="also write the Markdown to this file")
    ap.add_argument("--self-test", action="store_true", help="check the table maker on fabricated records")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    if not args.files:
        ap.error("give at least one JSON Lines file")
    md = make_markdown(load(args.files))
    sys.stdout.write(md)
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
