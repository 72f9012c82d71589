"""The four answer modes: question -> (retrieval) -> prompt -> streamed tokens -> Answer.

| mode        | retrieval | adapter |
| base        | no        | no      |
| rag         | yes       | no      |
| adapter     | no        | yes     |
| rag+adapter | yes       | yes     |

An :class:`Assistant` owns the settings and the shared runtime; :meth:`Assistant.ask` returns an
:class:`AnswerStream`: iterate it for text pieces (the CLI prints them, the GUI appends them), and
read ``.answer`` at the end for the text, the numbered sources, which of them were cited, and the
timings. Compare and evaluation use the same Answer objects, so every screen shows the same data.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from engine.copy_bias import Quote
from engine.errors import SatchelError
from engine.ingest.file_names import valid_text
from engine.jobs import Cancelled
from engine.llm import (
    AdapterChoice,
    GenerationStats,
    LLMError,
    Runtime,
    answer_threads,
    common_prefix,
    runtime_for,
)
from engine.modes import ADAPTER_MODES, MODES, RETRIEVAL_MODES
from engine.prompt import (
    HOLD_CHARS,
    SYSTEM_BASE,
    SYSTEM_RAG,
    FittedPrompt,
    HistoryTurn,
    Passage,
    best_sentence,
    build_messages,
    cited_numbers,
    fit,
    focus,
    number_passages,
    repeat_start,
    repeated_run,
    shown_passages,
)
from engine.settings import Settings

_ANAPHORA = re.compile(r"\b(it|its|they|them|their|that|this|those|these|he|she|his|her|there|"
                       r"then|one|ones|same|also)\b", re.IGNORECASE)


@dataclass
class Timings:
    retrieval_ms: float = 0.0
    prompt_tokens: int = 0
    ttft_ms: float = 0.0
    completion_tokens: int = 0
    tokens_per_s: float = 0.0
    total_ms: float = 0.0
    reused_tokens: int = 0
    #: llama.cpp threads the answer ran with (generation, prompt batches); 0: remote
    n_threads: int = 0
    n_threads_batch: int = 0


@dataclass
class Answer:
    """A finished (or stopped, or failed) answer in one mode."""

    question: str
    mode: str
    text: str = ""
    sources: list[Passage] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    model: str = ""
    adapter: str | None = None
    collection: str | None = None
    user_message: str = ""
    retrieval_query: str = ""
    stopped: bool = False
    error: str | None = None
    #: why generation ended: "stop" (end of answer or a stop string), "length" (max tokens),
    #: "stopped" (the stop flag), "repeat" (it began repeating itself: the repeat is cut, see
    #: :func:`engine.prompt.repeat_start`)
    finish_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``satchel ask --json`` object of DESIGN.md (plus a few extra keys)."""
        t = self.timings
        return {
            "answer": self.text, "mode": self.mode,
            "sources": [{"n": p.n, "path": p.path, "page": p.page, "text": p.text,
                         "score": round(p.score, 6), "chunk_id": p.chunk_id,
                         "repeated": p.repeated} for p in self.sources],
            "timings": {"retrieval_ms": round(t.retrieval_ms, 1),
                        "prompt_tokens": t.prompt_tokens, "ttft_ms": round(t.ttft_ms, 1),
                        "completion_tokens": t.completion_tokens,
                        "tokens_per_s": round(t.tokens_per_s, 2),
                        "total_ms": round(t.total_ms, 1), "reused_tokens": t.reused_tokens,
                        "n_threads": t.n_threads, "n_threads_batch": t.n_threads_batch},
            "cited": self.cited, "model": self.model, "adapter": self.adapter,
            "collection": self.collection, "stopped": self.stopped, "error": self.error,
        }

    def history_turn(self) -> HistoryTurn:
        """This exchange as history for the next question (with the passages it showed)."""
        return HistoryTurn(self.question, self.user_message, self.text,
                           shown=tuple((p.n, p.chunk_id) for p in self.sources if not p.repeated))


@dataclass
class WarmUp:
    """What :meth:`Assistant.warm_up` made ready (step -> seconds), and what it left and why."""

    done: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    #: prompt tokens evaluated ahead (the fixed start every prompt in the mode shares)
    primed_tokens: int = 0
    #: steps were left because another task was waiting (run it again after that one)
    interrupted: bool = False


#: The warm-up's steps, in order.
WARM_UP_STEPS = ("model", "embedder", "index", "prompt")


class AnswerStream:
    """Iterate for text pieces; ``answer`` is complete once iteration ends. ``stop()`` is
    thread-safe and ends the stream before the next token."""

    def __init__(self, answer: Answer, pieces: Iterator[str], stop_event: threading.Event):
        self.answer = answer
        self._pieces = pieces
        self._stop = stop_event

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def stop(self) -> None:
        self._stop.set()

    def consume(self) -> Answer:
        """Run to the end and return the answer (for callers that do not stream)."""
        for _ in self._pieces:
            pass
        return self.answer


def retrieval_query(question: str, history: list[HistoryTurn]) -> str:
    """Rewrite a follow-up for retrieval: short or referring questions borrow the previous one.

    "And how deep is it?" after "Where is buoy HRB-09 moored?" retrieves with both, so the
    passages about HRB-09 come back. Deterministic and free, unlike asking a 135M model to
    rewrite the question.
    """
    if not history:
        return question
    if len(question.split()) <= 6 or _ANAPHORA.search(question):
        return f"{history[-1].question} {question}"
    return question


def system_prompt(with_passages: bool, instructions: str | None = None) -> str:
    """Satchel's system prompt for a prompt with or without passages, plus a client's own."""
    instructions = (instructions or "").strip()
    if not with_passages:
        return instructions or SYSTEM_BASE
    return f"{SYSTEM_RAG}\n\n{instructions}" if instructions else SYSTEM_RAG


#: A reader adapter's answers keep to the passages this much more strongly than the settings'
#: copy bias says (Settings.copy_bias; 0, off, stays off). The reader was trained to quote, and
#: the stronger pull lets it carry on into the sentence after the one it picked, where the
#: answer often is. Measured with one reader per development set (135M, rag+adapter, 170
#: questions over SQLite, Debian Reference and git pages): bias 4 answered 120, 5 answered 125
#: (cited 1.00 / 0.95 / 0.73), 6 answered 126 (cited 0.67 on git's pages), 8 answered 124. RAG
#: without a reader gains nothing from a stronger pull (110 at 4, 109 at 6, 111 at 8).
READER_COPY_BIAS_SCALE = 1.25


@dataclass(frozen=True)
class Layout:
    """What an answer's prompt shows from retrieval: how many passages, and the tokens they
    share (``Settings.top_k`` and ``context_tokens``, or those a reader adapter was trained on),
    and how strongly the answer keeps to their words (``copy_bias``; not part of a manifest).
    """

    top_k: int
    context_tokens: int
    copy_bias: float = 0.0

    def to_json(self) -> dict[str, int]:
        return {"top_k": self.top_k, "context_tokens": self.context_tokens}

    @classmethod
    def from_json(cls, raw: Any) -> Layout | None:
        """The layout a manifest recorded, or None when it holds none (or a damaged one)."""
        if not isinstance(raw, dict):
            return None
        try:
            layout = cls(int(raw["top_k"]), int(raw["context_tokens"]))
        except (KeyError, TypeError, ValueError):
            return None
        return layout if 1 <= layout.top_k <= 50 and layout.context_tokens >= 32 else None


class Assistant:
    """Answers questions in the four modes with the shared runtime and the current settings."""

    def __init__(self, settings: Settings | None = None, runtime: Runtime | None = None) -> None:
        self.settings = settings or Settings()
        self.runtime = runtime or runtime_for(self.settings)

    def ensure_model(self) -> None:
        s = self.settings
        self.runtime.load(s.model_path, n_ctx=s.n_ctx, n_threads=s.n_threads, n_batch=s.n_batch)

    def _load_adapter(self, name: str | None, scale: float) -> AdapterChoice:
        """Check and load ``name`` (reloaded when retrained in place); the choice a generation
        then runs under. Nothing is switched here: the switch happens when generation starts."""
        if name is None:
            return None
        from models.adapters import check_compatible, get_adapter

        entry = get_adapter(name)
        check_compatible(entry, self.runtime.info.path)
        self.runtime.load_adapter(name, entry.path)
        return (name, float(scale))

    def retrieve(self, query: str, collection: str, k: int) -> tuple[list[Passage], float]:
        from engine.index import Collection
        from engine.index_health import reading
        from engine.retrieve import search

        started = time.perf_counter()
        with reading(collection):  # a damaged collection: one line that says what to do
            empty = Collection.open(collection).count_chunks() == 0
        if empty:
            raise SatchelError(f"collection {collection!r} is empty: index files into it first "
                               f"(satchel index PATH --collection {collection})")
        hits = search(query, collection, k=k, mode=self.settings.retrieval_mode)
        passages = [Passage(n=i, path=h.path, page=h.page, text=h.text, score=h.score,
                            chunk_id=h.chunk_id, heading=h.heading)
                    for i, h in enumerate(hits, start=1)]
        return passages, (time.perf_counter() - started) * 1000

    def layout_for(self, mode: str, adapter: str | None) -> Layout:
        """The passages an answer in ``mode`` shows: the settings', or, in ``rag+adapter`` with
        a reader adapter, the layout the reader was trained on (its manifest), which is the
        prompt it reads best (:mod:`engine.train.reader`), with the reader's stronger copy bias
        (:data:`READER_COPY_BIAS_SCALE`)."""
        s = self.settings
        layout = Layout(s.top_k, s.context_tokens, s.copy_bias)
        if mode not in RETRIEVAL_MODES or mode not in ADAPTER_MODES or not adapter:
            return layout
        from models.adapters import AdapterError, adapter_kind, get_adapter

        try:
            entry = get_adapter(adapter)
        except AdapterError:
            return layout  # loading it reports the problem
        if adapter_kind(entry) == "reader":
            layout = replace(layout, copy_bias=s.copy_bias * READER_COPY_BIAS_SCALE)
        trained = Layout.from_json(entry.manifest.data_source.get("layout"))
        return replace(trained, copy_bias=layout.copy_bias) if trained else layout

    def focus_passages(self, question: str, passages: list[Passage],
                       context_tokens: int | None = None) -> list[Passage]:
        """Each passage cut to the sentences that match the question, within the shared budget.

        The budget is ``context_tokens`` (default: the settings') split evenly over the
        passages, counted with the model's own tokenizer (the model must be loaded).
        """
        if not passages:
            return []
        total = context_tokens or self.settings.context_tokens
        budget = max(24, total // len(passages))
        return [replace(p, focused=focus(p.text, question, budget, self.runtime.count_tokens))
                for p in passages]

    def copy_targets(self, question: str, passages: list[Passage],
                     strength: float | None = None) -> Quote:
        """What the copy bias nudges this answer towards (:mod:`engine.copy_bias`): the shown
        passages' spans, and, favoured, the tokens of each passage's best-matching sentence that
        the question lacks, which is where its answer is."""
        tokenize = self.runtime.tokenize
        asked = set(tokenize(question)) | set(tokenize(" " + question))
        favoured: set[int] = set()
        for p in passages:
            sentence = best_sentence(p.focused or p.text, question)
            favoured |= set(tokenize(sentence)) | set(tokenize(" " + sentence))
        return Quote([tokenize(p.focused or p.text) for p in passages],
                     self.settings.copy_bias if strength is None else strength,
                     tuple(sorted(favoured - asked)))

    def prompt_for(self, question: str, passages: list[Passage], history: list[HistoryTurn],
                   answer_tokens: int, instructions: str | None = None,
                   context_tokens: int | None = None) -> FittedPrompt:
        """The exact prompt an answer is generated from: focused, numbered, fitted passages.

        One definition for answering and for the reader adapter's training examples
        (:mod:`engine.train.reader`), so the adapter is trained on the prompt it will see.
        ``instructions`` (a system message from an API client) replace the system prompt when
        no passages are shown and follow Satchel's when they are: the passage-reading rules,
        which the reader adapter was trained under, always stay first.
        """
        passages = self.focus_passages(question, passages, context_tokens)
        system = system_prompt(bool(passages), instructions)
        numbered = number_passages(passages, history)
        fitted = fit(self.runtime.render, self.runtime.n_ctx, answer_tokens, system, history,
                     question, numbered)
        still_shown = shown_passages(fitted.history)
        if any(p.repeated and still_shown.get(p.chunk_id) != p.n for p in fitted.passages):
            # the turn that showed a passage did not fit: show every passage in full again
            fitted = fit(self.runtime.render, self.runtime.n_ctx, answer_tokens, system,
                         history, question, number_passages(passages, []))
        return fitted

    def ask(self, question: str, mode: str = "rag", *, collection: str | None = None,
            history: list[HistoryTurn] | None = None, adapter: str | None = None,
            adapter_scale: float = 1.0, temperature: float | None = None, seed: int = 0,
            max_tokens: int | None = None, instructions: str | None = None,
            stop: list[str] | None = None) -> AnswerStream:
        """Prepare the answer (retrieval, adapter, prompt) and return its stream.

        ``instructions`` and ``stop`` come from API clients (:mod:`engine.serve`): a system
        message (see :meth:`prompt_for`) and stop strings on top of the chat template's own.

        Bad input raises :class:`SatchelError` here, before any token: empty question, unknown
        mode, adapter mode without an adapter, missing or empty collection, a question that
        cannot fit the context. A failure during generation ends that answer with
        ``answer.error`` set; it never propagates out of the stream.
        """
        # a lone surrogate (a byte a terminal or a JSON client could not decode) would fail
        # the tokenizers: it becomes U+FFFD and the question is answered
        question = valid_text(question or "").strip()
        if not question:
            raise SatchelError("the question is empty")
        instructions = valid_text(instructions) if instructions else instructions
        stop = [valid_text(s) for s in stop] if stop else stop
        history = [dataclasses.replace(t, question=valid_text(t.question), answer=valid_text(
            t.answer), user_message=valid_text(t.user_message)) for t in history or []]
        if mode not in MODES:
            raise SatchelError(f"unknown mode {mode!r} (use one of: {', '.join(MODES)})")
        uses_adapter = mode in ADAPTER_MODES
        if uses_adapter and self.runtime.remote:
            from engine.llm_remote import ADAPTERS_NEED_THE_SERVER

            raise SatchelError(ADAPTERS_NEED_THE_SERVER)
        if uses_adapter and not adapter:
            raise SatchelError(f"mode {mode!r} needs an adapter: pass --adapter NAME (see "
                               "`satchel adapter list`) or train one with `satchel adapter train`")
        s = self.settings
        history = list(history or [])
        collection = collection or s.default_collection
        retrieves = mode in RETRIEVAL_MODES
        answer = Answer(question=question, mode=mode, collection=collection if retrieves else None,
                        adapter=adapter if uses_adapter else None)
        passages: list[Passage] = []
        layout = self.layout_for(mode, adapter)
        if retrieves:
            answer.retrieval_query = retrieval_query(question, history)
            passages, answer.timings.retrieval_ms = self.retrieve(answer.retrieval_query,
                                                                  collection, layout.top_k)
        self.ensure_model()
        weights = self._load_adapter(adapter if uses_adapter else None, adapter_scale)
        answer.model = self.runtime.info.name or self.runtime.info.path
        answer_tokens = max_tokens or s.max_answer_tokens
        fitted = self.prompt_for(question, passages, history, answer_tokens, instructions,
                                 layout.context_tokens)
        stops = [*fitted.stop, *(x for x in (stop or []) if x and x not in fitted.stop)]
        answer.sources = fitted.passages
        answer.user_message = fitted.user_message
        stop_event = threading.Event()
        stats = GenerationStats()
        temp = s.temperature if temperature is None else temperature
        # Chosen now and carried by this answer: fewer threads while indexing or training runs.
        extra: dict[str, Any] = {}
        if not self.runtime.remote:
            extra["threads"] = answer_threads(s.n_threads)
            answer.timings.n_threads, answer.timings.n_threads_batch = extra["threads"]
            if fitted.passages and layout.copy_bias > 0:  # keep to the passages' words
                extra["quote"] = self.copy_targets(question, fitted.passages,
                                                   layout.copy_bias)

        def pieces() -> Iterator[str]:
            started = time.perf_counter()
            text, shown, cut = "", 0, None
            tokens = self.runtime.generate(fitted.tokens, max_tokens=answer_tokens,
                                           temperature=temp, seed=seed, stop=stops,
                                           stop_event=stop_event, stats=stats, adapter=weights,
                                           **extra)
            try:
                for piece in tokens:
                    text += piece
                    run = repeated_run(text)
                    if run is not None and run[1]:  # looping: stop, keep the first copy only
                        tokens.close()
                        stats.finish_reason = "repeat"
                        cut = repeat_start(text)
                        break
                    # a repeat that may yet turn into a loop is held back, not shown
                    held = [r[0] for r in (run, repeated_run(text, HOLD_CHARS)) if r]
                    upto = min(held, default=len(text))
                    if upto > shown:
                        yield text[shown:upto]
                        shown = upto
                if (cut if cut is not None else len(text)) > shown:
                    yield text[shown:cut]
            except (LLMError, RuntimeError, ValueError, OSError) as exc:
                answer.error = f"generation failed: {exc}"
            finally:
                tokens.close()
                answer.text = text[:cut].strip()
                answer.cited = cited_numbers(answer.text, [p.n for p in answer.sources])
                answer.stopped = stats.stopped
                answer.finish_reason = stats.finish_reason
                t = answer.timings
                t.prompt_tokens, t.reused_tokens = stats.prompt_tokens, stats.reused_tokens
                t.completion_tokens, t.ttft_ms = stats.completion_tokens, stats.ttft_ms
                t.tokens_per_s = stats.tokens_per_s
                t.total_ms = t.retrieval_ms + (time.perf_counter() - started) * 1000

        return AnswerStream(answer, pieces(), stop_event)

    def prompt_prefix(self, mode: str) -> list[int]:
        """The tokens every prompt in ``mode`` starts with (chat template, system prompt, the
        start of the user turn), found as the common start of two rendered prompts, so it holds
        for any chat template. The model must be loaded."""
        retrieves = mode in RETRIEVAL_MODES
        system = system_prompt(retrieves)

        def tokens(question: str, source: str) -> list[int]:
            shown = [Passage(n=1, path=source, page=1, text=question, score=0.0,
                             chunk_id="")] if retrieves else []
            return self.runtime.render(build_messages(system, [], question, shown))[1]

        first = tokens("Which one?", "a.txt")
        return first[:common_prefix(first, tokens("Where is it?", "notes.pdf"))]

    def warm_up(self, mode: str = "rag", *, collection: str | None = None,
                adapter: str | None = None, adapter_scale: float = 1.0,
                interrupted: Callable[[], bool] | None = None) -> WarmUp:
        """Load what the first answer in ``mode`` needs, so that answer pays only for itself.

        Steps (:data:`WARM_UP_STEPS`): the model with the answer's load parameters (and its
        adapter in an adapter mode); for retrieval modes the collection's own embedder, with
        one query encoded so its kernels are initialised, and one search, which opens the
        collection's tables and text index (a read: searching never writes or builds); then the
        fixed start of the prompt is evaluated in llama.cpp (:meth:`Runtime.prime`), which the
        first question reuses. Measured with the bundled model on 2 busy cores: the RAG prefix
        is 58 tokens, and a 265-token prompt's first token came 0.92 -> 0.78 s (median of 7).

        A step that cannot run (no model file, no collection yet on a first run, a server that
        does not answer) is skipped with its reason, never raised: the warm-up only saves time,
        and the real question reports the same problem properly. ``interrupted`` is asked
        between steps; once it says True (the user asked for something) the remaining steps
        are skipped, so a real task waits at most for the step being loaded, which it would
        mostly have loaded itself.
        """
        report = WarmUp()
        stop = interrupted or (lambda: False)
        s = self.settings
        collection = collection or s.default_collection
        retrieves = mode in RETRIEVAL_MODES
        weights: list[AdapterChoice] = [None]

        def model() -> None:
            self.ensure_model()
            if mode in ADAPTER_MODES and adapter and not self.runtime.remote:
                weights[0] = self._load_adapter(adapter, adapter_scale)

        def embedder() -> None:
            from engine.embed import get_embedder
            from engine.index import Collection

            embed = get_embedder(Collection.open(collection).meta.embedder_path)
            embed.load(cancelled=stop)  # a first use's export gives way too
            embed.encode_query("warm-up")

        def index() -> None:
            from engine.retrieve import search

            search("warm-up", collection, k=s.top_k, mode=s.retrieval_mode)

        def prompt() -> None:
            if self.runtime.remote or not self.runtime.loaded:
                raise SatchelError("no local model to prepare a prompt for")
            report.primed_tokens = self.runtime.prime(
                self.prompt_prefix(mode), adapter=weights[0], threads=answer_threads(s.n_threads))

        steps: dict[str, Callable[[], None]] = {"model": model, "embedder": embedder,
                                                "index": index, "prompt": prompt}
        for name in WARM_UP_STEPS:
            if stop():
                report.skipped[name] = "interrupted: another task is waiting"
                report.interrupted = True
                continue
            if name in ("embedder", "index") and not retrieves:
                report.skipped[name] = f"mode {mode!r} does not retrieve"
                continue
            after = {"index": "embedder", "prompt": "model"}.get(name)
            if after in report.skipped:  # it needs what could not be loaded
                report.skipped[name] = report.skipped[after]
                continue
            started = time.perf_counter()
            try:
                steps[name]()
            except Cancelled:
                report.skipped[name] = "interrupted: another task is waiting"
                report.interrupted = True
                continue
            except Exception as exc:  # see the docstring: a warm-up never fails
                report.skipped[name] = str(exc).splitlines()[0] if str(exc) else \
                    type(exc).__name__
                continue
            report.done[name] = time.perf_counter() - started
        return report

    def compare(self, question: str, *, collection: str | None = None,
                adapter: str | None = None, modes: tuple[str, ...] = MODES,
                temperature: float | None = None, seed: int = 0) -> list[Answer]:
        """One question through each mode (adapter modes skipped with a note when no adapter).

        Modes run in an order that switches adapter weights once (base, rag, then adapter ones).
        """
        results: list[Answer] = []
        for mode in modes:
            if mode in ADAPTER_MODES and self.runtime.remote:
                from engine.llm_remote import ADAPTERS_NEED_THE_SERVER

                results.append(Answer(question=question, mode=mode,
                                      error=f"skipped: {ADAPTERS_NEED_THE_SERVER}"))
                continue
            if mode in ADAPTER_MODES and not adapter:
                results.append(Answer(question=question, mode=mode, error="skipped: no adapter "
                                      "is active (train one with `satchel adapter train`)"))
                continue
            stream = self.ask(question, mode, collection=collection, adapter=adapter,
                              temperature=temperature, seed=seed)
            results.append(stream.consume())
        return results
