"""Benchmark: Satchel's LoRA trainer vs a straightforward PEFT loop, side by side in one run.

Prints (and writes as JSON with ``--json``):

* ``ratio``: training tokens/s of Satchel's step (packed blocks, loss-only vocabulary projection,
  bf16 autocast where the CPU has it) over a plain PEFT loop (padded batches of 4 examples,
  ``model(..., labels=...)``, float32, default settings), same model, same LoRA, same data (the
  sample corpus's chunks). Steps alternate A, B, A, B... so a machine shared with other work
  slows both arms alike; tokens are data tokens (padding is not counted for either arm).
* ``peak_rss_gb`` and ``quick_seconds``: the quick preset on the sample corpus, run first, as a
  separate process (its VmHWM is the peak memory of a real training run).
  ``--no-quick`` skips it and prints an extrapolation from the measured throughput instead.

Usage: ``python benchmarks/bench_train.py [--rounds 6] [--threads N] [--no-quick] [--json F]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import netguard  # noqa: E402

netguard.install()

QUICK_CHILD = """
import json, sys, time
from engine import netguard
netguard.install()
from engine.jobs import Job
from engine.train import TrainConfig, prepare, run
t0 = time.perf_counter()
plan = prepare(TrainConfig(collection="sample", preset="quick", name="bench-quick"), Job())
t1 = time.perf_counter()
result = run(plan, Job())
# VmHWM is the peak resident memory of this process image only; ru_maxrss would also count the
# pages of the (large) parent that were mapped between fork and exec.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"estimate_s": plan.estimate_s, "prepare_s": t1 - t0,
                  "seconds": time.perf_counter() - t0, "steps": result.steps_done,
                  "metrics": result.metrics, "peak_rss_kib": hwm}))
"""


def _baseline_step(model, optimizer, tokenizer, texts: list[str], max_len: int) -> int:
    """The textbook loop: pad the batch, let the model compute the loss over all positions."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_len,
                      return_tensors="pt")
    labels = batch["input_ids"].clone()
    labels[batch["attention_mask"] == 0] = -100
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                labels=labels)
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return int(batch["attention_mask"].sum())


def _run_quick(result: dict) -> bool:
    """The quick preset on the sample corpus in a fresh child process (the real CLI path)."""
    print("running the quick preset on the sample corpus in a child process ...", flush=True)
    t0 = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", QUICK_CHILD], cwd=ROOT,
                           capture_output=True, text=True, env=dict(os.environ))
    wall = time.perf_counter() - t0
    if child.returncode != 0:
        print(child.stderr[-3000:], file=sys.stderr)
        return False
    report = json.loads(child.stdout.strip().splitlines()[-1])
    rss = report["peak_rss_kib"] / 2**20  # KiB -> GiB
    m = report["metrics"]
    result.update(quick_seconds=round(wall, 1), quick_estimate_s=round(report["estimate_s"]),
                  quick_steps=report["steps"], peak_rss_gb=round(rss, 2), quick_metrics=m,
                  quick_load_average=os.getloadavg()[0])
    print(f"quick preset: {wall:.0f} s wall (estimate shown before start: "
          f"{report['estimate_s']:.0f} s), {report['steps']} steps, peak RSS {rss:.2f} GiB "
          "(target <= 3 GB, <= 10 min)")
    print(f"  held-out ppl {m['heldout_ppl_before']} -> {m['heldout_ppl_after']}, control "
          f"ppl {m['control_ppl_before']} -> {m['control_ppl_after']}, "
          f"{m['tokens_per_s']} tokens/s, load average {os.getloadavg()[0]:.1f}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="timed steps per arm")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default all)")
    parser.add_argument("--no-quick", action="store_true", help="skip the quick-preset run")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="satchel-bench-train-"))
    os.environ["SATCHEL_HOME"] = str(home)
    import torch

    from engine.indexer import index_paths
    from engine.model_files import default_model_path
    from engine.samples import CORPUS_DIR
    from engine.train.data import from_collection, split_heldout
    from engine.train.model import add_lora, load_model, load_tokenizer, lora_parameters
    from engine.train.packing import encode_and_pack
    from engine.train.presets import PRESETS, cpu_threads
    from engine.train.trainer import block_order, resolve_precision, train_step

    threads = args.threads or cpu_threads()
    torch.set_num_threads(threads)
    print(f"indexing the sample corpus into {home} ...", flush=True)
    index_paths([CORPUS_DIR], "sample")
    result: dict = {}
    if not args.no_quick and not _run_quick(result):  # first, while this process is small
        return 1
    train, _held = split_heldout(from_collection("sample"))
    texts = [e.text for e in train]
    preset = PRESETS["quick"]
    model_path = default_model_path()
    tokenizer = load_tokenizer(model_path)
    tokenizer.pad_token = tokenizer.eos_token
    blocks = encode_and_pack(train, tokenizer, preset.seq_len)
    precision = resolve_precision("auto")
    print(f"loading {model_path.name} ...", flush=True)
    base = load_model(model_path)
    arms = {}
    for arm in ("baseline", "satchel"):
        peft_model = add_lora(copy.deepcopy(base), preset.lora_rank, preset.lora_alpha,
                              preset.target_modules, 0.0, 0)
        peft_model.train()
        params = list(lora_parameters(peft_model).values())
        arms[arm] = (peft_model, torch.optim.AdamW(params, lr=1e-4), params)
    del base

    ids_all = torch.tensor(blocks.ids)
    labels_all = torch.tensor(blocks.labels)
    lengths = torch.tensor(blocks.lengths)
    per_step = preset.micro_batch * preset.grad_accum
    baseline_batch = 4
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0)).tolist()
    totals = {"baseline": [0, 0.0], "satchel": [0, 0.0]}
    for step in range(args.rounds + 1):  # step 0 warms both arms up and is not counted
        model, opt, _ = arms["baseline"]
        picks = [texts[order[(step * baseline_batch + i) % len(texts)]]
                 for i in range(baseline_batch)]
        t0 = time.perf_counter()
        tokens = _baseline_step(model, opt, tokenizer, picks, preset.seq_len)
        dt = time.perf_counter() - t0
        if step:
            totals["baseline"][0] += tokens
            totals["baseline"][1] += dt
        model, opt, params = arms["satchel"]
        idx = block_order(step, per_step, len(ids_all), 0)
        t0 = time.perf_counter()
        train_step(model.get_base_model(), opt, params, ids_all[idx], labels_all[idx],
                   micro_batch=preset.micro_batch, lr=1e-4, precision=precision)
        dt2 = time.perf_counter() - t0
        if step:
            totals["satchel"][0] += int(lengths[idx].sum())
            totals["satchel"][1] += dt2
        print(f"  step {step}: baseline {tokens} tok in {dt:.2f} s, satchel "
              f"{int(lengths[idx].sum())} tok in {dt2:.2f} s", flush=True)
    tps = {arm: t / s for arm, (t, s) in totals.items()}
    ratio = tps["satchel"] / tps["baseline"]
    padded = sum(len(tokenizer(t)["input_ids"][: preset.seq_len]) for t in texts)
    result.update({
        "threads": threads, "precision": precision, "rounds": args.rounds,
        "baseline_tokens_per_s": round(tps["baseline"], 1),
        "satchel_tokens_per_s": round(tps["satchel"], 1), "ratio": round(ratio, 2),
        "corpus_train_tokens": padded, "load_average": os.getloadavg()[0],
    })
    print(f"baseline (padded, fp32, full-vocab loss): {tps['baseline']:.1f} tokens/s")
    print(f"satchel  (packed, {precision}, loss-only projection): {tps['satchel']:.1f} tokens/s")
    print(f"RATIO satchel / baseline = {ratio:.2f}  (target >= 1.5)")
    for arm in list(arms):
        del arms[arm]
    if args.no_quick:
        steps = -(-len(blocks) * preset.epochs // per_step)
        steps = min(preset.max_steps, int(steps))
        est = 15 + steps * preset.tokens_per_step / tps["satchel"]
        result.update(quick_seconds_extrapolated=round(est, 1), quick_steps=steps)
        print(f"quick preset (extrapolated, not run): ~{est:.0f} s for {steps} steps")

    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
