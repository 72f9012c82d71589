"""Issue 4's targets, measured side by side in one run: ``python -m benchmarks.bench_llm``.

1. Generation tokens/s of Satchel's answer path / raw llama-cpp-python ``create_completion``
   streaming the same prompt tokens with the same model, settings and sampling: >= 0.97.
2. Time to first token of a second RAG question in a session (prefix cache warm): <= 0.5 s,
   next to raw llama.cpp evaluating the same prompt from an empty cache.
3. Adapter on/off: <= 20 ms, next to reloading the model with the adapter.

Runs alternate between the two sides and report medians: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

QUESTION_PAIRS = [
    ("Who chaired the June council meeting?", "When is the next one?"),
    ("How many people were in the 2025 winter crew?", "And the summer peak?"),
    ("What was the total operating budget for 2025?", "What share went to fuel?"),
    ("Which buoy is moored at the Outer Bank?", "How deep is it?"),
    ("What is the station's radio call sign?", "Which channel do field parties use?"),
]


def _raw_stream(llm, tokens: list[int], max_tokens: int) -> tuple[float, float, int]:
    """(ttft_s, gen_tokens_per_s, completion tokens) of raw llama-cpp-python streaming."""
    start = time.perf_counter()
    first = last = 0.0
    n = 0
    for _chunk in llm.create_completion(prompt=tokens, max_tokens=max_tokens, temperature=0.0,
                                        top_k=40, top_p=0.95, repeat_penalty=1.1, seed=0,
                                        stream=True):
        now = time.perf_counter()
        if n == 0:
            first = now
        last = now
        n += 1
    rate = (n - 1) / (last - first) if n > 1 and last > first else 0.0
    return first - start, rate, n


def bench_generation(assistant, raw, rounds: int, max_tokens: int) -> dict[str, float]:
    from engine.prompt import SYSTEM_BASE, build_messages

    question = "Write a long, detailed story about a lighthouse keeper on a stormy island."
    ours, theirs = [], []
    for _ in range(rounds):
        assistant.runtime.set_adapter(None)
        assistant.runtime._llm.reset()
        stream = assistant.ask(question, "base", temperature=0.0, max_tokens=max_tokens)
        answer = stream.consume()
        ours.append(answer.timings.tokens_per_s)
        _, tokens, _ = assistant.runtime.render(build_messages(SYSTEM_BASE, [], question, []))
        raw.reset()
        theirs.append(_raw_stream(raw, tokens, max_tokens)[1])
    return {"satchel_tok_s": statistics.median(ours), "raw_tok_s": statistics.median(theirs),
            "ratio": statistics.median(o / t for o, t in zip(ours, theirs, strict=True)),
            "tokens": answer.timings.completion_tokens}


def bench_second_question(assistant, raw) -> dict[str, float]:
    ours, raw_ttft, prompt_tokens, reused = [], [], [], []
    for first, second in QUESTION_PAIRS:
        a1 = assistant.ask(first, "rag", temperature=0.0, max_tokens=48).consume()
        stream = assistant.ask(second, "rag", history=[a1.history_turn()], temperature=0.0,
                               max_tokens=48)
        a2 = stream.consume()
        ours.append(a2.timings.ttft_ms)
        prompt_tokens.append(a2.timings.prompt_tokens)
        reused.append(a2.timings.reused_tokens)
        from engine.prompt import SYSTEM_RAG, build_messages

        messages = build_messages(SYSTEM_RAG, [a1.history_turn()], second, a2.sources)
        _, tokens, _ = assistant.runtime.render(messages)
        raw.reset()
        raw_ttft.append(_raw_stream(raw, tokens, 1)[0] * 1000)
    return {"ttft_ms": statistics.median(ours), "raw_ttft_ms": statistics.median(raw_ttft),
            "prompt_tokens": statistics.median(prompt_tokens),
            "reused_tokens": statistics.median(reused), "max_ttft_ms": max(ours)}


def bench_adapter(assistant, model_path: str) -> dict[str, float]:
    """Switch time of a stored adapter (a random one when the data dir has none for the model)."""
    from models.adapters import check_compatible, list_adapters

    entries = []
    for entry in list_adapters():
        try:
            check_compatible(entry, model_path)
            entries.append(entry)
        except Exception:
            continue
    if not entries:  # the switch cost does not depend on how the weights were trained
        from benchmarks.random_adapter import make_random_adapter
        from models.adapters import get_adapter

        entries = [get_adapter(make_random_adapter("bench-random-lora"))]
    entry = entries[0]
    runtime = assistant.runtime
    runtime.load_adapter(entry.name, entry.path)
    switches = []
    for _ in range(20):
        t = time.perf_counter()
        runtime.set_adapter(entry.name, 1.0)
        runtime.set_adapter(None)
        switches.append((time.perf_counter() - t) / 2 * 1000)
    import llama_cpp

    reloads = []
    for _ in range(3):
        t = time.perf_counter()
        llm = llama_cpp.Llama(model_path=model_path, lora_path=str(entry.path), n_ctx=2048,
                              n_threads=runtime.state().n_threads, verbose=False)
        reloads.append((time.perf_counter() - t) * 1000)
        llm.close()
    return {"switch_ms": statistics.median(switches), "reload_ms": statistics.median(reloads),
            "adapter": entry.name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--data-dir", default=None,
                        help="a Satchel data dir with trained adapters (default: a temp dir)")
    args = parser.parse_args(argv)

    from engine import netguard

    netguard.install()
    import llama_cpp

    from engine import paths
    from engine.answer import Assistant
    from engine.indexer import index_paths
    from engine.samples import CORPUS_DIR
    from engine.settings import Settings

    home = args.data_dir or tempfile.mkdtemp(prefix="satchel-bench-")
    paths.set_data_dir(home)
    settings = Settings(default_collection="sample", temperature=0.0)
    index_paths([CORPUS_DIR], "sample", settings=settings)
    assistant = Assistant(settings)
    assistant.ensure_model()
    state = assistant.runtime.state()
    # the same weights file Satchel's runtime runs (its Q8_0 copy of a Q4_1 model)
    raw = llama_cpp.Llama(model_path=state.weights_path, n_ctx=state.n_ctx,
                          n_threads=state.n_threads, n_threads_batch=state.n_threads,
                          n_batch=settings.n_batch, verbose=False, seed=0)
    # warm both (first decode pays one-off allocations)
    assistant.ask("Hello", "base", max_tokens=8).consume()
    _raw_stream(raw, raw.tokenize(b"Hello"), 8)

    gen = bench_generation(assistant, raw, args.rounds, args.max_tokens)
    ttft = bench_second_question(assistant, raw)
    adapter = bench_adapter(assistant, state.weights_path or "")
    raw.close()

    print(f"model: {Path(state.model_path or '').name}, threads {state.n_threads}, "
          f"ctx {state.n_ctx}")
    print("| measure | Satchel | raw llama.cpp | ratio / target |")
    print("|---|---|---|---|")
    print(f"| generation tokens/s ({gen['tokens']} tokens) | {gen['satchel_tok_s']:.1f} | "
          f"{gen['raw_tok_s']:.1f} | {gen['ratio']:.3f} (>= 0.97: "
          f"{'PASS' if gen['ratio'] >= 0.97 else 'FAIL'}) |")
    print(f"| TTFT, 2nd RAG question (median of {len(QUESTION_PAIRS)}; prompt "
          f"{ttft['prompt_tokens']:.0f} tokens, {ttft['reused_tokens']:.0f} cached) | "
          f"{ttft['ttft_ms']:.0f} ms (max {ttft['max_ttft_ms']:.0f}) | "
          f"{ttft['raw_ttft_ms']:.0f} ms (no reuse) | "
          f"<= 500 ms: {'PASS' if ttft['ttft_ms'] <= 500 else 'FAIL'} |")
    print(f"| adapter on/off ({adapter['adapter']}) | {adapter['switch_ms'] * 1000:.1f} µs | "
          f"reload with adapter {adapter['reload_ms']:.0f} ms | "
          f"<= 20 ms: {'PASS' if adapter['switch_ms'] <= 20 else 'FAIL'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
