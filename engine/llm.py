"""The llama.cpp runtime: one loaded GGUF model behind a lock, streamed generation, LoRA switching.

Why this shape (DESIGN.md style point 3): a model is the most expensive object in the process, so
exactly one owner loads it lazily, keeps it while it is used, frees it explicitly, and replaces it
when the user picks another file. Generation is a generator of text pieces that checks a stop
flag between tokens, so the GUI's Stop button ends an answer within one token (~15 ms).

Prefix reuse: llama-cpp-python keeps the tokens it evaluated and, on the next call, only evaluates
what differs after the longest common prefix. The answer module lays prompts out so the fixed part
(system prompt, earlier turns) comes first and stays byte-identical across questions.

Adapters: any number of GGUF LoRA adapters load onto the one model and are switched on/off or
rescaled with ``llama_set_adapters_lora`` in milliseconds; after every switch the evaluated-token
cache is reset, or tokens computed under the other weights would be reused (FACTS.md). Which
adapter a generation runs under is an argument of :meth:`Runtime.generate`, applied under the
runtime lock when its first token is computed: answers are prepared early and generated later (a
stream), so a process-wide "current adapter" set at preparation time would let two interleaved
answers run under each other's weights. A loaded adapter remembers which file it came from
(inode, size, mtime), so one retrained in place is loaded again instead of answering with the
old weights.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import SatchelError
from engine.gguf_info import GGUFInfo, ModelFileError

if TYPE_CHECKING:
    from engine.copy_bias import Quote

#: ChatML, used (with a warning) when a GGUF carries no chat template.
FALLBACK_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class LLMError(SatchelError):
    """A model that cannot be loaded, an adapter that does not fit, a prompt that cannot fit."""


@dataclass
class GenerationStats:
    """Filled while a generation runs; complete once its iterator is exhausted or closed."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float = 0.0
    total_ms: float = 0.0
    stopped: bool = False
    finish_reason: str = ""
    #: llama.cpp threads this generation ran with: one token at a time, and prompt batches
    n_threads: int = 0
    n_threads_batch: int = 0

    @property
    def tokens_per_s(self) -> float:
        gen_ms = self.total_ms - self.ttft_ms
        if self.completion_tokens <= 1 or gen_ms <= 0:
            return 0.0
        return (self.completion_tokens - 1) / (gen_ms / 1000.0)


@dataclass
class LoadedAdapter:
    name: str
    path: str
    handle: Any
    #: (device, inode, size, mtime_ns) of the file the weights were read from
    identity: tuple[int, int, int, int] = (0, 0, 0, 0)


#: An adapter and its scale for one generation; None runs the base weights.
AdapterChoice = tuple[str, float] | None
#: llama.cpp threads for one generation: (token generation, prompt batches); None: as loaded.
Threads = tuple[int, int] | None


def _file_identity(path: str | os.PathLike[str]) -> tuple[int, int, int, int]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise LLMError(f"adapter file {path} cannot be read: {exc.strerror or exc}") from None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class RuntimeState:
    """What the status bar shows."""

    model_path: str | None = None
    #: The file llama.cpp runs: ``model_path`` or its faster copy (:mod:`engine.llm_weights`)
    weights_path: str | None = None
    model_name: str | None = None
    n_ctx: int = 0
    n_threads: int = 0
    active_adapter: str | None = None
    adapter_scale: float = 1.0
    loaded_adapters: list[str] = field(default_factory=list)


def default_threads() -> int:
    """One thread per physical core: llama.cpp's threads spin, so more only hurts."""
    from engine.embed import physical_cores

    return physical_cores()


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many tokens two token lists share from the start (what llama.cpp's cache reuses)."""
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


def answer_threads(configured: int = 0) -> tuple[int, int]:
    """Threads for the next answer (generation, prompt batches): every core, or a share of them
    while indexing or training runs.

    Why: llama.cpp's threads meet at a barrier after every layer and spin-wait there, so when
    another job holds a core one thread is descheduled and all of them wait for it, every
    layer. A heavy job anywhere on this data dir (another process too) leaves a marker
    (:func:`engine.jobs.heavy_job`); the answer then takes an equal share of the cores, at
    least one, for generation and prompt batches alike.

    Measured (benchmarks/bench_threads.py --rounds 3, bundled 135M model, 265-token RAG prompt,
    40-token answers, 2 cores, nothing else running), first token / generation, threads as
    gen+batch: idle 2+2 0.86 s / 85.6 tok/s (1+1 1.54 s / 61.6 tok/s); beside another process
    running a training step loop 2+2 3.30 s / 22.6 tok/s, 1+2 2.72 s / 32.9, 2+1 2.46 s / 24.6,
    1+1 2.31 s / 41.7 tok/s; beside an indexing run 2+2 1.89 s / 25.1 tok/s, 1+1 1.90 s /
    64.3 tok/s. So on 2 cores one busy job means 1+1. More cores were not measured; the share
    rule keeps the answer's threads within the cores the jobs leave.
    """
    from engine.jobs import heavy_jobs

    full = configured or default_threads()
    busy = len(heavy_jobs())
    if not busy:
        return full, full
    share = max(1, full // (busy + 1))
    return share, share


class Runtime:
    """Owns the loaded llama.cpp model. All public methods are thread-safe."""

    #: Answers in this process (:class:`engine.llm_remote.RemoteRuntime` is the other kind).
    remote = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._llm: Any = None
        self._info: GGUFInfo | None = None
        self._path: str | None = None
        self._params: tuple[int, int, int] | None = None
        self._formatter: Any = None
        self._openers: list[int] | None = None  # citation-opening tokens, found on first use
        self._adapters: dict[str, LoadedAdapter] = {}
        self._active: tuple[str, float] | None = None
        self._threads: tuple[int, int] = (0, 0)  # what the context runs with now
        self.template_warning: str | None = None

    # -- model ------------------------------------------------------------------------------------
    def load(self, model_path: str | os.PathLike[str] | None = None, *, n_ctx: int = 2048,
             n_threads: int = 0, n_batch: int = 256) -> GGUFInfo:
        """Load ``model_path`` (None: the bundled default); a no-op if it is already loaded.

        The file is validated from its header first, so a missing, non-GGUF or truncated file is
        a one-line :class:`LLMError`, not a crash inside llama.cpp.
        """
        from engine.model_files import resolve_model

        try:
            path, info = resolve_model(model_path)
        except ModelFileError as exc:
            raise LLMError(str(exc)) from None
        threads = n_threads or default_threads()
        ctx = min(n_ctx, info.context_length or n_ctx)
        params = (ctx, threads, n_batch)
        with self._lock:
            if self._llm is not None and self._path == str(path) and self._params == params:
                return info
            self.unload()
            import llama_cpp

            from engine.llm_weights import runtime_weights

            weights = runtime_weights(path, info.quantization, info.size_bytes)
            for attempt in dict.fromkeys((weights, path)):  # a bad copy: the original runs
                try:
                    self._llm = llama_cpp.Llama(model_path=str(attempt), n_ctx=ctx,
                                                n_threads=threads, n_threads_batch=threads,
                                                n_batch=n_batch, verbose=False, seed=0)
                    break
                except (ValueError, RuntimeError, OSError) as exc:
                    if attempt == path:
                        raise LLMError(f"llama.cpp could not load {path.name}: {exc}") from None
            self._info, self._path, self._params = info, str(path), params
            self._threads = (threads, threads)
            self._formatter = self._make_formatter(info)
            return info

    def _make_formatter(self, info: GGUFInfo) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm
        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
        template = info.chat_template
        self.template_warning = None
        if not template:
            template = FALLBACK_TEMPLATE
            self.template_warning = (f"{Path(info.path).name} has no chat template; using ChatML, "
                                     "answers may be poor (is this a base model?)")
            warnings.warn(self.template_warning, stacklevel=3)
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                   stop_token_ids=[eos_id])

    def unload(self) -> None:
        """Free the model, its context and every adapter."""
        with self._lock:
            if self._llm is None:
                return
            import llama_cpp

            with contextlib.suppress(LLMError):  # freed below either way
                self._apply_adapters(None)
            for adapter in self._adapters.values():
                llama_cpp.llama_adapter_lora_free(adapter.handle)
            self._adapters.clear()
            self._active = None
            self._llm.close()
            self._llm = self._info = self._path = self._params = self._formatter = None
            self._openers = None
            self._threads = (0, 0)

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def info(self) -> GGUFInfo:
        if self._info is None:
            raise LLMError("no model is loaded")
        return self._info

    @property
    def n_ctx(self) -> int:
        return self._params[0] if self._params else 0

    def state(self) -> RuntimeState:
        with self._lock:
            return RuntimeState(
                model_path=self._path, model_name=(self._info.name if self._info else None),
                weights_path=self._llm.model_path if self._llm is not None else None,
                n_ctx=self.n_ctx, n_threads=self._threads[0] if self._params else 0,
                active_adapter=self._active[0] if self._active else None,
                adapter_scale=self._active[1] if self._active else 1.0,
                loaded_adapters=sorted(self._adapters))

    def _require(self) -> Any:
        if self._llm is None:
            raise LLMError("no model is loaded")
        return self._llm

    # -- tokens and prompts -----------------------------------------------------------------------
    def render(self, messages: list[dict[str, str]]) -> tuple[str, list[int], list[str]]:
        """Apply the model's chat template: (prompt text, tokens, stop strings)."""
        with self._lock:
            llm = self._require()
            result = self._formatter(messages=messages)
            tokens = llm.tokenize(result.prompt.encode("utf-8"),
                                  add_bos=not result.added_special, special=True)
            stop = result.stop if isinstance(result.stop, list) else [result.stop]
            return result.prompt, tokens, [s for s in stop if s]

    def tokenize(self, text: str) -> list[int]:
        """Token ids of plain text (no BOS, no special tokens) by the model's own tokenizer."""
        with self._lock:
            return list(self._require().tokenize(text.encode("utf-8"), add_bos=False,
                                                 special=False))

    def count_tokens(self, text: str) -> int:
        """Tokens of plain text (no special tokens) by the model's own tokenizer."""
        return len(self.tokenize(text))

    # -- generation -------------------------------------------------------------------------------
    def generate(self, tokens: list[int], *, max_tokens: int = 256, temperature: float = 0.2,
                 seed: int = 0, stop: list[str] | None = None,
                 stop_event: threading.Event | None = None,
                 stats: GenerationStats | None = None,
                 adapter: AdapterChoice = None, threads: Threads = None,
                 quote: Quote | None = None) -> Iterator[str]:
        """Stream text pieces for a prompt given as tokens; ``stats`` is filled as it goes.

        Holds the runtime lock for the whole generation (one answer at a time) and runs it under
        ``adapter`` (a loaded adapter's name and scale; None: the base weights) and ``threads``
        (see :func:`answer_threads`; None: the count it was loaded with), both set under that
        lock. ``quote``: the passages' token ids and the bias towards continuing their spans
        (:mod:`engine.copy_bias`). Setting ``stop_event`` ends it before the next token; closing
        the iterator does the same.
        """
        stats = stats if stats is not None else GenerationStats()
        with self._lock:
            llm = self._require()
            name, scale = adapter if adapter is not None else (None, 1.0)
            self.set_adapter(name, scale)
            stats.n_threads, stats.n_threads_batch = self._set_threads(threads)
            if len(tokens) + 1 > self.n_ctx:
                raise LLMError(f"the prompt has {len(tokens)} tokens but the model's context "
                               f"holds {self.n_ctx}")
            max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
            reused = common_prefix(list(llm._input_ids[: llm.n_tokens]), tokens)
            stats.prompt_tokens, stats.reused_tokens = len(tokens), reused
            started = time.perf_counter()
            processors = None
            if quote is not None and quote.bonus > 0 and any(quote.passages):
                from llama_cpp import LogitsProcessorList

                from engine.copy_bias import CopyBias, citation_openers

                if self._openers is None:
                    self._openers = citation_openers(llm.detokenize, llm.n_vocab())
                processors = LogitsProcessorList([CopyBias(
                    quote.passages, len(tokens), bonus=quote.bonus, not_first=self._openers,
                    favoured=quote.favoured)])
            stream = llm.create_completion(prompt=tokens, max_tokens=max_tokens,
                                           temperature=temperature, top_k=40, top_p=0.95,
                                           repeat_penalty=1.1, seed=seed, stop=stop or None,
                                           stream=True, logits_processor=processors)
            try:
                for chunk in stream:
                    choice = chunk["choices"][0]
                    piece = choice.get("text") or ""
                    now = time.perf_counter()
                    if choice.get("finish_reason"):
                        stats.finish_reason = choice["finish_reason"]
                        if not piece:  # the closing chunk carries the reason, not a token
                            continue
                    if stats.completion_tokens == 0:
                        stats.ttft_ms = (now - started) * 1000
                    stats.completion_tokens += 1
                    stats.total_ms = (now - started) * 1000
                    if piece:
                        yield piece
                    if stop_event is not None and stop_event.is_set():
                        stats.stopped, stats.finish_reason = True, "stopped"
                        break
            finally:
                stream.close()
                stats.total_ms = (time.perf_counter() - started) * 1000

    def prime(self, tokens: list[int], *, adapter: AdapterChoice = None,
               threads: Threads = None) -> int:
        """Evaluate ``tokens`` now so a later prompt that starts with them evaluates only the rest.

        For the warm-up: the fixed start of every prompt (chat template, system prompt, the
        start of the user turn) is computed while the user is still reading the window, and
        :meth:`generate` reuses it (llama-cpp-python keeps the longest common token prefix with
        the previous evaluation). Nothing is evaluated when the cache already starts with
        ``tokens`` (an earlier answer): its tokens are worth more. Returns tokens evaluated.
        """
        with self._lock:
            llm = self._require()
            name, scale = adapter if adapter is not None else (None, 1.0)
            self.set_adapter(name, scale)
            self._set_threads(threads)
            reused = common_prefix(list(llm._input_ids[: llm.n_tokens]), tokens)
            if reused == len(tokens):
                return 0
            llm.n_tokens = reused  # ``eval`` drops the cache after it, then appends
            llm.eval(list(tokens[reused:]))
            return len(tokens) - reused

    def _set_threads(self, threads: Threads) -> tuple[int, int]:
        """Make the context run with ``threads`` (caller holds the lock); no reload, ~µs."""
        loaded = self._params[1] if self._params else 1
        wanted = threads or (loaded, loaded)
        wanted = (max(1, int(wanted[0])), max(1, int(wanted[1])))
        if wanted != self._threads:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self._llm._ctx.ctx, wanted[0], wanted[1])
            self._threads = wanted
        return wanted

    # -- adapters ---------------------------------------------------------------------------------
    def load_adapter(self, name: str, path: str | os.PathLike[str]) -> None:
        """Load a GGUF LoRA onto the current model (verified against it first), not yet active.

        A no-op when this very file is loaded under ``name``; when ``name`` now points at
        another file, or its file was replaced (an adapter retrained with ``--overwrite``), the
        old weights are released and the new ones loaded.
        """
        import llama_cpp

        with self._lock:
            llm = self._require()
            identity = _file_identity(path)
            loaded = self._adapters.get(name)
            if loaded is not None:
                if loaded.path == str(path) and loaded.identity == identity:
                    return
                self._release(name)
            from engine.llm_adapter_check import verify_adapter_file

            verify_adapter_file(Path(path), self.info)
            handle = llama_cpp.llama_adapter_lora_init(llm._model.model, os.fsencode(path))
            if not handle:
                raise LLMError(f"llama.cpp refused adapter {name!r} ({Path(path).name})")
            self._adapters[name] = LoadedAdapter(name, str(path), handle, identity)

    def _release(self, name: str) -> None:
        """Free a loaded adapter, switching it off first if it is active."""
        import llama_cpp

        if self._active is not None and self._active[0] == name:
            self._apply_adapters(None)
            self._active = None
        llama_cpp.llama_adapter_lora_free(self._adapters.pop(name).handle)

    def set_adapter(self, name: str | None, scale: float = 1.0) -> None:
        """Activate one loaded adapter at ``scale`` (None: base weights only); ~ms, no reload."""
        with self._lock:
            self._require()
            if name is not None and name not in self._adapters:
                raise LLMError(f"adapter {name!r} is not loaded")
            wanted = (name, float(scale)) if name is not None else None
            if wanted == self._active:
                return
            self._apply_adapters(wanted)
            self._active = wanted

    def _apply_adapters(self, wanted: tuple[str, float] | None) -> None:
        """Make ``wanted`` the context's only adapter; LLMError when llama.cpp refuses, and then
        the context is left on the base weights, never on a half-applied set."""
        import llama_cpp

        llm = self._llm
        llm.reset()  # tokens cached under the other weights must not be reused
        if wanted is None:
            code = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
        else:
            handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(
                self._adapters[wanted[0]].handle)
            scales = (ctypes.c_float * 1)(wanted[1])
            code = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, handles, 1, scales)
        if code:
            self._active = None
            if wanted is not None:
                llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
            what = f"switch to adapter {wanted[0]!r}" if wanted else "switch adapters off"
            raise LLMError(f"llama.cpp could not {what} (error {code})")

    @property
    def active_adapter(self) -> str | None:
        return self._active[0] if self._active else None


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime (created empty; nothing loads until ``load``)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime()
            # free llama.cpp objects before interpreter teardown unloads the library under them
            atexit.register(_runtime.unload)
        return _runtime


def runtime_for(settings: Any) -> Any:
    """The runtime the settings ask for: an OpenAI-compatible server when ``llm_url`` is set
    (:mod:`engine.llm_remote`), else the in-process model."""
    url = getattr(settings, "llm_url", "")
    if url:
        from engine.llm_remote import get_remote_runtime

        return get_remote_runtime(url, settings.llm_api_key, settings.llm_model)
    return get_runtime()
