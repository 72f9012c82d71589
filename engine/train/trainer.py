"""The LoRA training run: plan (data, estimate) -> loop (progress, cancel, checkpoints) -> adapter.

Two phases so the user sees the cost before paying it: :func:`prepare` reads and packs the data
with the model's tokenizer and estimates the duration (seconds, no model load); :func:`run` loads
the model and trains. Why the loop is hand-written rather than transformers' ``Trainer``: it is
~150 lines, and it lets us (a) compute the vocabulary projection only at positions that carry
loss (for Q&A pairs most positions are the prompt, and the 49k-wide projection is a large share of
a small model's compute), (b) make every step a pure function of (step, checkpoint), which is
what exact resume needs, and (c) report through :class:`engine.jobs.Job` and stop at any step.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import paths
from engine.errors import full_disk_is_one_line
from engine.gguf_info import GGUFInfo
from engine.jobs import Cancelled, Job, heavy_job
from engine.train import checkpoint as ckpt
from engine.train.data import TrainDataError, TrainingData, load_training_data
from engine.train.packing import IGNORE, Blocks, encode_and_pack
from engine.train.presets import (
    DEFAULT_PRESET,
    Preset,
    cpu_threads,
    estimate_seconds,
    get_preset,
    planned_steps,
)
from engine.train.speed import measured_tokens_per_s, remember, speed_key

#: Fraction of available RAM training may plan to use before turning gradient checkpointing on.
MEMORY_FRACTION = 0.6


@dataclass
class TrainConfig:
    """What the user asked for (CLI flags, GUI form)."""

    collection: str | None = None
    data_file: str | None = None
    #: What the adapter is for: "text" (the collection's raw text), "pairs" (a pairs file),
    #: "reader" (answer from retrieved passages: rag+adapter), "knowledge" (closed-book facts:
    #: adapter mode); "auto" is "text" for a collection and "pairs" for a file.
    kind: str = "auto"
    draft: int | None = None  # reader/knowledge: questions to draft (None: the kind's default)
    #: reader: fraction of examples that hold the answering passage (None: the layout's
    #: default, engine.train.reader.default_p_oracle)
    p_oracle: float | None = None
    preset: str = DEFAULT_PRESET
    name: str | None = None
    max_steps: int | None = None  # exact number of steps, overriding the preset's epochs
    model_path: str | None = None  # None: the bundled default model
    resume: bool = False
    overwrite: bool = False
    precision: str = "auto"  # "auto" (bf16 where measured faster), "bf16" or "fp32"
    threads: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # any Preset field
    settings: Any = None  # engine Settings for retrieval and drafting (None: the saved ones)


@dataclass
class TrainingPlan:
    """Everything decided before the model is loaded; :meth:`describe` is shown to the user."""

    config: TrainConfig
    preset: Preset
    data: TrainingData
    model_path: Path
    info: GGUFInfo
    base_sha256: str
    name: str
    tokenizer: Any
    train: Blocks
    heldout: Blocks
    control: Blocks
    steps: int
    estimate_s: float
    threads: int
    run_id: str
    precision: str  # "bf16" (autocast) or "fp32"
    speed_key: str = ""  # engine.train.speed: where this run's throughput is remembered
    timed_here: bool = False  # the estimate uses a throughput measured on this machine

    @property
    def checkpoint_dir(self) -> Path:
        """Where this run's checkpoint lives: in its collection's cache when it learns from a
        collection. Why: a checkpoint holds weights learned from the collection's text (a
        knowledge adapter's hold its facts), so a run stopped and never resumed goes with the
        collection when it is removed (:func:`engine.derived.derived_files`). A run stopped
        by a Satchel that kept checkpoints under ``cache/train`` is resumed from there."""
        legacy = paths.cache_dir() / "train" / self.run_id
        if not self.config.collection:
            return legacy
        here = paths.collection_cache(self.config.collection) / "train" / self.run_id
        if ckpt.checkpoint_path(legacy).is_file() and not ckpt.checkpoint_path(here).is_file():
            return legacy
        return here

    def checkpoint_step(self) -> int | None:
        """Step of a resumable checkpoint of this exact run, if one exists (not a damaged one:
        :meth:`checkpoint_problem` says why)."""
        try:
            payload = ckpt.load(self.checkpoint_dir, self.run_id)
        except ckpt.CheckpointDamaged:
            return None
        return int(payload["state"]["step"]) if payload else None

    def checkpoint_problem(self) -> str | None:
        """Why this run's checkpoint cannot be resumed from, when it exists but is damaged."""
        try:
            ckpt.load(self.checkpoint_dir, self.run_id)
        except ckpt.CheckpointDamaged as exc:
            return str(exc)
        return None

    def describe(self) -> str:
        from engine.jobs import format_eta

        return (f"{self.preset.name} preset: {self.steps} steps of {self.preset.tokens_per_step} "
                f"tokens on {len(self.data.train)} examples ({len(self.data.heldout)} held out, "
                f"{self.train.real_tokens:,} training tokens); LoRA rank {self.preset.lora_rank} "
                f"on {self.info.architecture}, {self.precision}, {self.threads} threads; estimated "
                f"{format_eta(self.estimate_s)}"
                f"{' (from the last runs here)' if self.timed_here else ''}{self._drafted_note()}")

    def _drafted_note(self) -> str:
        """Said when drafting gave fewer questions than asked: fewer examples than the user
        expects, which ``--data`` (their own questions) can make up."""
        asked, got = self.data.source.get("drafted_asked"), self.data.source.get("drafted")
        if not asked or got is None or got >= asked:
            return ""
        return (f"; drafted {got} of the {asked} questions asked (the others' drafts failed "
                "the checks, or the documents have no more distinct facts; --data adds yours)")


@dataclass
class TrainResult:
    """What a finished run produced."""

    adapter: Any  # models.adapters.AdapterEntry
    metrics: dict[str, Any]
    steps_done: int
    stopped_early: bool
    resumed_from: int | None


def prepare(config: TrainConfig, job: Job | None = None) -> TrainingPlan:
    """Check the model and the data, pack it, and estimate the run (no model load)."""
    from engine.model_files import default_model_path, model_sha256
    from engine.train.model import body_parameters, check_architecture, load_tokenizer
    from models import adapters

    job = job or Job()
    model_path = Path(config.model_path).expanduser() if config.model_path else (
        default_model_path())
    info = check_architecture(model_path)
    kind = resolve_kind(config)
    kind_overrides = KIND_OVERRIDES.get(kind, {})
    if config.preset != "quick":  # longer presets keep their own schedule
        kind_overrides = {k: v for k, v in kind_overrides.items()
                          if k in ("seq_len", "micro_batch", "grad_accum")}
    preset = get_preset(config.preset).with_overrides(**kind_overrides)
    preset = preset.with_overrides(**config.overrides)
    if config.max_steps is not None:
        if config.max_steps < 1:
            raise TrainDataError("--steps must be at least 1")
        preset = preset.with_overrides(max_steps=config.max_steps)
    if info.context_length and preset.seq_len > info.context_length:
        preset = preset.with_overrides(seq_len=info.context_length)
    base_name = config.collection or Path(config.data_file or "adapter").stem
    if kind in ("reader", "knowledge"):
        base_name = f"{config.collection}-{kind}"
    name = config.name or adapters.unique_name(base_name)
    adapters.validate_name(name)
    if (paths.adapters_dir() / name).exists() and not config.overwrite:
        raise adapters.AdapterError(f"an adapter named {name!r} already exists; pick another "
                                    "name or remove it first")
    job.status("Reading the training data")
    if kind in ("reader", "knowledge"):
        from engine.settings import load as load_settings
        from engine.train.reader import build_in_child

        settings = config.settings or load_settings()[0]
        if config.model_path:
            settings = dataclasses.replace(settings, model_path=str(config.model_path))
        data = build_in_child(kind, config.collection or "", data_file=config.data_file,
                              draft=config.draft, p_oracle=config.p_oracle, seed=preset.seed,
                              settings=settings, job=job)
    else:
        data = load_training_data(collection=config.collection, data_file=config.data_file,
                                  seed=preset.seed)
    job.status("Tokenizing")
    tokenizer = load_tokenizer(model_path)
    alone = kind == "reader"  # each RAG prompt starts at position 0, as when answering
    generated = kind in ("reader", "knowledge")
    train = encode_and_pack(data.train, tokenizer, preset.seq_len, one_per_block=alone,
                            skip_long=generated)
    heldout = encode_and_pack(data.heldout, tokenizer, preset.seq_len, one_per_block=alone,
                              skip_long=generated)
    from engine.train.data import Example

    control = encode_and_pack([Example("control", text=t) for t in data.control], tokenizer,
                              preset.seq_len)
    if not len(train) or not train.loss_tokens:
        raise TrainDataError("the training data has no tokens to learn from")
    steps = config.max_steps or planned_steps(preset, len(train))
    preset = measured_once_at_end(preset, steps, kind_overrides, config.overrides)
    threads = config.threads or cpu_threads()
    precision = resolve_precision(config.precision)
    eval_tokens = heldout.real_tokens + len(control) * preset.seq_len
    fill = train.real_tokens / max(1, len(train) * preset.seq_len)
    sha = model_sha256(model_path)
    key = speed_key(sha, precision, threads, kind)
    measured = measured_tokens_per_s(key)
    estimate = estimate_seconds(preset, steps, body_parameters(info), eval_tokens=eval_tokens,
                                threads=threads, bf16=precision == "bf16", fill=fill,
                                tokens_per_s=measured)
    identity = json.dumps({"model": sha, "data": data.fingerprint(), "preset": preset.to_json(),
                           "steps": steps, "name": name, "format": ckpt.FORMAT,
                           "precision": precision},
                          sort_keys=True)
    run_id = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return TrainingPlan(config, preset, data, model_path.resolve(), info, sha, name, tokenizer,
                        train, heldout, control, steps, estimate, threads, run_id, precision,
                        key, measured is not None)


#: Preset changes per kind. A reader example is a whole RAG prompt (~250-400 tokens) with a short
#: answer, so it needs a longer context; knowledge pairs are short and need more passes. Reader:
#: 3 epochs, not 2 (dev set, 71 drafted real questions: cited answers 48% -> 78%, correct 76% ->
#: 74%, i.e. one question). A reader trains every planned step and keeps its last weights: its
#: held-out loss is measured once, at the end (``eval_every`` = ``max_steps``). Early stopping on
#: a dozen held-out examples stopped every reader at 30-50 of 54-81 steps, before the citing
#: habit set in; on the dev set, the same drafts trained to the end answered 0.72 (cited 96%)
#: against 0.70 (cited 70%) early-stopped, on two machines. At most 64 steps (the 10-minute
#: budget for drafting and training a 12-document collection on 2 cores): on the dev set's 101
#: examples 64 steps (2.5 epochs) answered 0.80 (cited 78%), 78 steps 0.78 (cited 94%) but took
#: 10.1 minutes in all; skipping the periodic held-out passes pays for part of the extra steps.
#: And 54 steps (2 epochs) answered 46 of the Debian Policy Manual's 60 against 49, in 7.5
#: minutes against 9.8 (in different hours): kept 64. With 64, `satchel adapter train --kind
#: reader` on SQLite's 12 pages, freshly indexed and drafted, took 8 min 15 s in all on an idle
#: machine (161 tokens/s), 2.2 GB peak RSS.
#: Twice the learning rate (2e-3) answered 52 of the Debian Reference's 60 against 53: kept 1e-3.
#: Rank 16 (alpha 32) answered 122 of the three development sets' 170 (34 / 52 / 36) against
#: 124 at rank 8: kept the quick preset's rank 8.
#: Knowledge: facts must be memorised, so no early stopping (held out are other wordings of
#: trained facts, measured once at the end) and many passes: on the SQLite development set 14
#: passes over every fact (rank 16, learning rate 1e-3) answered 0.12 closed-book against 0.00
#: for 4 passes stopped early on held-out facts (engine.train.knowledge). And small steps, each
#: pair apart (engine.train.packing): two blocks (about seven pairs) per step answered 0.18 in
#: 30 minutes, eight blocks per step 0.14 in 23 (0.12 with the pairs reading each other), one
#: pair per block and eight per step 0.20 in 42 (padding made it slow).
KIND_OVERRIDES: dict[str, dict[str, Any]] = {
    "reader": {"seq_len": 512, "micro_batch": 1, "grad_accum": 4, "epochs": 3,
               "max_steps": 64, "eval_every": 64, "checkpoint_every": 10},
    "knowledge": {"seq_len": 256, "micro_batch": 2, "grad_accum": 1, "epochs": 12,
                  "max_steps": 2000, "eval_every": 2000, "checkpoint_every": 20,
                  "lora_rank": 16, "lora_alpha": 32, "learning_rate": 1e-3, "warmup_steps": 10},
}
KINDS = ("text", "pairs", "reader", "knowledge")


def measured_once_at_end(preset: Preset, steps: int, kind_overrides: dict[str, Any],
                         overrides: dict[str, Any]) -> Preset:
    """The preset with its held-out check moved to the last step when the kind's schedule
    says "measure once, at the end" (``eval_every`` == ``max_steps``: a reader).

    Why: with ``--steps`` above the default cap, a check every 64 steps brought early stopping
    (and a restore of older weights) back to a reader. An ``eval_every`` the user set stays.
    """
    once = "eval_every" in kind_overrides and (
        kind_overrides["eval_every"] == kind_overrides.get("max_steps"))
    if not once or "eval_every" in overrides:
        return preset
    return preset.with_overrides(eval_every=steps)


def resolve_kind(config: TrainConfig) -> str:
    """The adapter kind, checked against the sources given (one-line errors)."""
    kind = config.kind
    if kind == "auto":
        return "pairs" if config.data_file and not config.collection else "text"
    if kind not in KINDS:
        raise TrainDataError(f"unknown adapter kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind in ("reader", "knowledge") and not config.collection:
        raise TrainDataError(f"a {kind} adapter is trained on a collection: pass --collection "
                             "NAME (and optionally --data FILE with your own questions)")
    if kind == "text" and not config.collection:
        raise TrainDataError("a text adapter is trained on a collection: pass --collection NAME")
    if kind == "pairs" and not config.data_file:
        raise TrainDataError("a pairs adapter needs --data FILE")
    return kind


# -- the loop -------------------------------------------------------------------------------------
def trimmed(ids: Any, labels: Any, lengths: Any,
            positions: Any = None) -> tuple[Any, Any, Any]:
    """Cut the filler tail shared by a micro-batch's blocks (it carries no loss).

    Exact for a causal model: no real position attends to a later one. A block of one short
    chat example (a reader prompt in a 512-token block) then costs its own length only.
    """
    if lengths is None:
        return ids, labels, positions
    width = max(2, int(max(lengths)))
    return ids[:, :width], labels[:, :width], None if positions is None else positions[:, :width]


def train_step(causal: Any, optimizer: Any, params: list[Any], ids: Any, labels: Any, *,
               micro_batch: int, lr: float, precision: str, lengths: Any = None,
               positions: Any = None) -> float:
    """One optimizer step over ``ids`` (packed blocks) in micro-batches; returns the mean loss.

    The loss is normalised by the loss tokens of the whole step, so gradient accumulation gives
    the same update as one big batch. ``lengths`` (data tokens per block) trims filler;
    ``positions`` (the blocks' position ids) keeps packed pairs apart (engine.train.packing).
    """
    import torch

    n_loss = max(1, int((labels[:, 1:] != IGNORE).sum()))
    total = 0.0
    for start in range(0, len(ids), micro_batch):
        part = slice(start, start + micro_batch)
        mb_ids, mb_labels, mb_positions = trimmed(
            ids[part], labels[part], None if lengths is None else lengths[part],
            None if positions is None else positions[part])
        loss_sum = _loss_sum(causal, mb_ids, mb_labels, precision, mb_positions)
        (loss_sum / n_loss).backward()
        total += float(loss_sum.detach())
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total / n_loss


def _cpuinfo(field: str) -> str:
    """The first ``field`` line of /proc/cpuinfo ("" where there is none or no such file)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux: no flags to read, "fp32" and "unknown" follow
        return ""
    return ""


def native_bf16() -> bool:
    """True when the CPU advertises bfloat16 arithmetic (AVX512-BF16 or AMX)."""
    return bool(set(_cpuinfo("flags").split()) & {"avx512_bf16", "amx_bf16"})


def _time_linear(precision: str) -> float:
    """Seconds for a few forward+backward passes of a LoRA-sized linear layer stack."""
    import torch

    torch.manual_seed(0)
    x = torch.randn(256, 576)
    w1 = torch.randn(1536, 576) / 24
    w2 = torch.randn(576, 1536) / 40
    a = torch.zeros(576, 8, requires_grad=True)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(4):
            with autocast(precision):
                h = torch.nn.functional.linear(torch.nn.functional.linear(x + x @ a @ a.T, w1),
                                               w2)
            h.float().sum().backward()
        best = min(best, time.perf_counter() - started)
    return best


def faster_precision() -> str:
    """"bf16" where bfloat16 autocast is measurably faster on this CPU, else "fp32".

    A bf16 flag is not enough: on a 2-core Zen 4 autocast trained 2.3x faster, while on the
    Sapphire Rapids machines here (avx512_bf16 too) it trained at 114-121 tokens/s against
    188-223 in float32. So it is measured once (~0.5 s) and the choice is cached per CPU model
    and torch version in the data dir, which also keeps a run's identity (its checkpoint) stable.
    """
    if not native_bf16():
        return "fp32"
    import torch

    from engine.paths import atomic_write_text

    key = f"{_cpuinfo('model name') or 'unknown'} | torch {torch.__version__}"
    cache = paths.cache_dir() / "train" / "precision.json"
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if key not in known:
        fp32 = _time_linear("fp32")
        bf16 = _time_linear("bf16")
        known[key] = "bf16" if bf16 < 0.85 * fp32 else "fp32"
        atomic_write_text(cache, json.dumps(known, indent=1))
    return known[key]


def resolve_precision(requested: str) -> str:
    if requested not in ("auto", "bf16", "fp32"):
        raise TrainDataError(f"unknown precision {requested!r}; use auto, bf16 or fp32")
    if requested == "auto":
        return faster_precision()
    return requested


def autocast(precision: str) -> Any:
    """The compute context for forward passes: bfloat16 autocast or plain float32."""
    import contextlib

    import torch

    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _loss_sum(causal: Any, ids: Any, labels: Any, precision: str = "fp32",
              positions: Any = None) -> Any:
    """Summed next-token loss, projecting to the vocabulary only where a label exists.

    ``positions``: the blocks' position ids; where they start again at 0 inside a block,
    transformers masks attention between the packed pairs (engine.train.packing)."""
    import torch.nn.functional as F

    with autocast(precision):
        hidden = causal.model(input_ids=ids, position_ids=positions,
                              use_cache=False).last_hidden_state
        target = labels[:, 1:]
        mask = target != IGNORE
        logits = causal.lm_head(hidden[:, :-1][mask])
    return F.cross_entropy(logits.float(), target[mask], reduction="sum")


def evaluate(causal: Any, blocks: Blocks, micro_batch: int, precision: str = "fp32") -> float:
    """Mean loss per token (nats) over ``blocks``; exp() of it is the perplexity."""
    import torch

    if not blocks.loss_tokens:
        return float("nan")
    was_training = causal.training
    causal.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(blocks), micro_batch):
            part = slice(start, start + micro_batch)
            ids, labels, positions = trimmed(torch.tensor(blocks.ids[part]),
                                             torch.tensor(blocks.labels[part]),
                                             blocks.lengths[part],
                                             torch.tensor(blocks.positions[part]))
            total += float(_loss_sum(causal, ids, labels, precision, positions))
    causal.train(was_training)
    return total / blocks.loss_tokens


def block_order(step: int, per_step: int, n_blocks: int, seed: int) -> list[int]:
    """Block indices for ``step``: epoch-wise seeded permutations, a pure function of the step."""
    import torch

    out = []
    perms: dict[int, list[int]] = {}
    for i in range(step * per_step, (step + 1) * per_step):
        epoch, pos = divmod(i, n_blocks)
        if epoch not in perms:
            gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            perms[epoch] = torch.randperm(n_blocks, generator=gen).tolist()
        out.append(perms[epoch][pos])
    return out


def learning_rate(step: int, preset: Preset, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak (a pure function of the step)."""
    peak = preset.learning_rate
    warm = min(preset.warmup_steps, max(0, total_steps - 1))
    if step < warm:
        return peak * (step + 1) / (warm + 1)
    span = max(1, total_steps - warm)
    progress = min(1.0, (step - warm) / span)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _needs_checkpointing(plan: TrainingPlan) -> bool:
    """Gradient checkpointing costs ~30% more compute; use it only when memory is short."""
    import psutil

    info = plan.info
    act = (plan.preset.micro_batch * plan.preset.seq_len * (info.block_count or 1)
           * 30 * (info.embedding_length or 1) * 4)
    weights = info.parameters * 4
    return weights + act > MEMORY_FRACTION * psutil.virtual_memory().available


def _check_memory(plan: TrainingPlan) -> None:
    import psutil

    need = plan.info.parameters * 4 * 1.3
    avail = psutil.virtual_memory().available
    if need > avail:
        raise TrainDataError(f"{plan.model_path.name} needs about {need / 2**30:.1f} GB of "
                             f"memory to train on the CPU; {avail / 2**30:.1f} GB are free")


@full_disk_is_one_line
def run(plan: TrainingPlan, job: Job | None = None, *, base_model: Any = None) -> TrainResult:
    """Train, checkpoint, evaluate and export; raises Cancelled (after checkpointing) on cancel.

    ``base_model`` is an already-loaded float32 base (tests and benchmarks reuse one); it is
    copied, never modified.
    """
    import torch

    job = job or Job()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(plan.threads)
    try:
        # answering (maybe in another process) leaves this run a core while it lasts
        with heavy_job("training", plan.name):
            return _run(plan, job, base_model)
    finally:
        torch.set_num_threads(previous_threads)


def _run(plan: TrainingPlan, job: Job, base_model: Any) -> TrainResult:
    import torch

    from engine.train.model import add_lora, load_model, lora_parameters, release_memory, trim_heap

    p = plan.preset
    _check_memory(plan)
    # Read before the model loads: a damaged checkpoint is refused at once, never replaced by a
    # silent restart from step 0.
    payload = ckpt.load(plan.checkpoint_dir, plan.run_id) if plan.config.resume else None
    job.status("Loading the base model")
    model = copy.deepcopy(base_model) if base_model is not None else load_model(plan.model_path)
    # the GGUF dequantization's temporaries are freed but glibc keeps their arenas: give them
    # back before training allocates its own (the reader's 3 GB peak-RSS target)
    release_memory()
    peft_model = add_lora(model, p.lora_rank, p.lora_alpha, p.target_modules, p.lora_dropout,
                          p.seed)
    causal = peft_model.get_base_model()
    use_gc = _needs_checkpointing(plan)
    if use_gc:
        causal.gradient_checkpointing_enable(gradient_checkpointing_kwargs={
            "use_reentrant": False})
    lora = lora_parameters(peft_model)
    optimizer = torch.optim.AdamW(list(lora.values()), lr=p.learning_rate,
                                  weight_decay=p.weight_decay)
    if payload is None and not plan.config.resume:
        ckpt.remove(plan.checkpoint_dir)
    resumed_from: int | None = None
    if payload is not None:
        state = ckpt.restore(payload, lora, optimizer)
        resumed_from = state.step
        job.status(f"Resuming from step {state.step}")
    else:
        if plan.config.resume:
            job.status("No checkpoint of this run; starting from the beginning")
        state = ckpt.TrainState()
        job.status("Measuring the base model (held-out and control perplexity)")
        state.before = {
            "heldout_loss": evaluate(causal, plan.heldout, p.micro_batch, plan.precision),
            "control_loss": evaluate(causal, plan.control, p.micro_batch, plan.precision)}
        job.check()
    ids_all = torch.tensor(plan.train.ids)
    labels_all = torch.tensor(plan.train.labels)
    real_per_block = torch.tensor(plan.train.lengths)
    positions_all = torch.tensor(plan.train.positions)
    per_step = p.micro_batch * p.grad_accum
    job.status("Training")
    peft_model.train()
    saved_step = state.step
    recent: list[tuple[int, float]] = []
    try:
        while state.step < plan.steps and not state.stopped_early:
            job.check()
            t0 = time.perf_counter()
            order = block_order(state.step, per_step, len(ids_all), p.seed)
            loss = train_step(causal, optimizer, list(lora.values()), ids_all[order],
                              labels_all[order], micro_batch=p.micro_batch,
                              lr=learning_rate(state.step, p, plan.steps),
                              precision=plan.precision, lengths=real_per_block[order].tolist(),
                              positions=positions_all[order])
            trim_heap()
            state.step += 1
            dt = time.perf_counter() - t0
            tokens = int(real_per_block[order].sum())
            state.train_tokens += tokens
            state.train_seconds += dt
            recent = [*recent[-9:], (tokens, dt)]
            tps = sum(t for t, _ in recent) / max(1e-9, sum(d for _, d in recent))
            entry = {"step": state.step, "loss": loss}
            if state.step % p.eval_every == 0 or state.step == plan.steps:
                heldout = evaluate(causal, plan.heldout, p.micro_batch, plan.precision)
                entry["heldout_loss"] = heldout
                state.last_heldout = heldout
                if heldout < state.best_loss - 1e-4:
                    state.best_loss, state.best_step, state.bad_evals = heldout, state.step, 0
                    state.best_weights = {k: v.detach().clone() for k, v in lora.items()}
                else:
                    state.bad_evals += 1
                    if state.bad_evals >= p.patience:
                        state.stopped_early = True
            state.history.append(entry)
            metrics = {"loss": round(entry["loss"], 4), "tokens_per_s": round(tps, 1)}
            if state.last_heldout is not None:
                metrics["heldout_loss"] = round(state.last_heldout, 4)
            job.progress(state.step, plan.steps, **metrics)
            if state.step % p.checkpoint_every == 0 and state.step < plan.steps:
                _stop_if_collection_removed(plan)
                ckpt.save(plan.checkpoint_dir, plan.run_id, state, lora, optimizer)
                saved_step = state.step
                job.partial({"checkpoint_step": state.step})
    except Cancelled:
        if state.step > saved_step:
            _stop_if_collection_removed(plan)
            ckpt.save(plan.checkpoint_dir, plan.run_id, state, lora, optimizer)
        job.partial({"checkpoint_step": state.step})
        raise
    _stop_if_collection_removed(plan)
    return _finish(plan, job, causal, peft_model, lora, state, resumed_from, use_gc)


def _stop_if_collection_removed(plan: TrainingPlan) -> None:
    """End a run whose collection was removed while it trained, keeping nothing.

    Called before anything learned from the collection is written (a checkpoint, the adapter):
    the user removed that text, so no weights learned from it are kept, and the collection's
    cache folder, which the run's checkpoint would make again, is deleted with the checkpoint.
    """
    import shutil

    from engine.index import list_collections

    name = plan.config.collection
    if not name or any(m.name == name for m in list_collections()):
        return
    ckpt.remove(plan.checkpoint_dir)
    shutil.rmtree(paths.collection_cache(name), ignore_errors=True)
    raise TrainDataError(f"collection {name!r} was removed during training: the run stopped "
                         "and kept nothing learned from it")


def _finish(plan: TrainingPlan, job: Job, causal: Any, peft_model: Any, lora: dict[str, Any],
            state: ckpt.TrainState, resumed_from: int | None, use_gc: bool) -> TrainResult:
    import torch

    from engine.train.export import write_adapter
    from engine.train.model import lora_tensors
    from models import adapters

    p = plan.preset
    if state.best_weights is not None and state.best_step != state.step:
        with torch.no_grad():
            for k, v in lora.items():
                v.copy_(state.best_weights[k])
    job.status("Measuring the adapter (held-out and control perplexity)")
    if state.best_weights is not None and state.best_step:
        heldout_after = state.best_loss
    else:
        heldout_after = evaluate(causal, plan.heldout, p.micro_batch, plan.precision)
    control_after = evaluate(causal, plan.control, p.micro_batch, plan.precision)
    before = state.before

    def ppl(loss: float) -> float:
        return round(math.exp(loss), 3) if math.isfinite(loss) else float("nan")

    metrics = {
        "heldout_loss_before": round(before["heldout_loss"], 4),
        "heldout_loss_after": round(heldout_after, 4),
        "heldout_ppl_before": ppl(before["heldout_loss"]),
        "heldout_ppl_after": ppl(heldout_after),
        "control_ppl_before": ppl(before["control_loss"]),
        "control_ppl_after": ppl(control_after),
        "steps": state.step, "planned_steps": plan.steps, "best_step": state.best_step or
        state.step, "stopped_early": state.stopped_early, "train_tokens": state.train_tokens,
        "tokens_per_s": round(state.train_tokens / max(1e-9, state.train_seconds), 1),
        "train_seconds": round(state.train_seconds, 1),
        "train_examples": len(plan.data.train), "heldout_examples": len(plan.data.heldout),
        "gradient_checkpointing": use_gc, "precision": plan.precision,
        "final_loss": round(state.history[-1]["loss"], 4) if state.history else None,
    }
    if plan.speed_key:
        remember(plan.speed_key, metrics["tokens_per_s"], state.train_seconds)
    job.status("Exporting the GGUF adapter")
    tensors = lora_tensors({k: v.detach() for k, v in lora.items()})
    gguf_path = write_adapter(plan.checkpoint_dir / "adapter.gguf", tensors,
                              architecture=plan.info.architecture, alpha=p.lora_alpha,
                              n_head=plan.info.head_count or 1,
                              n_head_kv=plan.info.head_count_kv or plan.info.head_count or 1,
                              name=plan.name)
    manifest = adapters.AdapterManifest(
        name=plan.name, base_model_sha256=plan.base_sha256,
        base_model_name=plan.info.name or plan.model_path.name,
        architecture=plan.info.architecture, block_count=plan.info.block_count or 0,
        embedding_length=plan.info.embedding_length or 0, lora_rank=p.lora_rank,
        lora_alpha=float(p.lora_alpha), target_modules=list(p.target_modules),
        data_source=dict(plan.data.source), hyperparameters=p.to_json(), metrics=metrics,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"))
    entry = adapters.save_adapter(plan.name, gguf_path, manifest,
                                  overwrite=plan.config.overwrite)
    ckpt.remove(plan.checkpoint_dir)
    del peft_model
    return TrainResult(entry, metrics, state.step, state.stopped_early, resumed_from)


def train_adapter(config: TrainConfig, job: Job | None = None, *,
                  base_model: Any = None) -> TrainResult:
    """Prepare and run in one call (for callers that do not show the estimate first)."""
    plan = prepare(config, job)
    return run(plan, job, base_model=base_model)
