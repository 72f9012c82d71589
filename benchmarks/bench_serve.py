"""Issue 14's targets, side by side in one run: ``python -m benchmarks.bench_serve``.

1. Tokens/s through the API (``satchel serve``, streamed, read by an HTTP client) / tokens/s of
   the in-process answer path ``satchel ask`` uses, same question, same model and sampling:
   >= 0.95.
2. Time to first token through the API minus in-process, both measured from the moment the
   question is asked (so the API side pays for HTTP, JSON, queueing and SSE): <= 30 ms.

Both sides use the same data dir (the sample corpus indexed once), each question is new to both
(no prefix-cache advantage for either: each side has its own model and cache), the two sides
alternate, and medians are reported: the machine is shared and noisy. Rates are measured the
same way on both sides, from the first to the last text piece as the caller receives them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORY = "Write a long, detailed story about a lighthouse keeper on a stormy island, part {i}."


def questions() -> list[str]:
    from engine.samples import CORPUS_DIR

    qa = CORPUS_DIR.parent / "qa.jsonl"
    return [json.loads(line)["question"] for line in qa.read_text().splitlines() if line.strip()]


def in_process(assistant, question: str, mode: str, max_tokens: int) -> tuple[float, float, int]:
    """(ttft_s, tokens/s, tokens) of the engine's answer stream, as ``satchel ask`` reads it."""
    start = time.perf_counter()
    stream = assistant.ask(question, mode, collection="sample", temperature=0.0,
                           max_tokens=max_tokens)
    first = last = 0.0
    for _piece in stream:
        last = time.perf_counter()
        first = first or last
    n = stream.answer.timings.completion_tokens
    return first - start, rate(n, first, last), n


def through_api(client, url: str, question: str, mode: str,
                max_tokens: int) -> tuple[float, float, int]:
    """The same through ``POST /v1/chat/completions`` with ``stream: true``."""
    body = {"model": f"satchel-{mode}", "temperature": 0, "max_tokens": max_tokens,
            "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": question}]}
    start = time.perf_counter()
    first = last = 0.0
    n = 0
    with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                n = chunk["usage"]["completion_tokens"]
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                last = time.perf_counter()
                first = first or last
    return first - start, rate(n, first, last), n


def rate(tokens: int, first: float, last: float) -> float:
    return (tokens - 1) / (last - first) if tokens > 1 and last > first else 0.0


def start_server(home: Path) -> tuple[subprocess.Popen, int]:
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "main.py", "--data-dir", str(home), "serve",
                             "--port", "0", "--collection", "sample"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    state = home / "server.json"
    deadline = time.monotonic() + 300
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start: {(home / 'serve.log').read_text()}")
        time.sleep(0.1)
    return proc, int(json.loads(state.read_text())["port"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    import httpx2

    from engine import netguard, paths
    from engine.answer import Assistant
    from engine.samples import CORPUS_DIR
    from engine.settings import Settings

    netguard.install()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        home = Path(tmp)
        subprocess.run([sys.executable, "main.py", "--data-dir", str(home), "index",
                        str(CORPUS_DIR), "--collection", "sample"], cwd=ROOT, check=True,
                       capture_output=True)
        paths.set_data_dir(home)
        proc, port = start_server(home)
        netguard.allow_endpoint("127.0.0.1", port)
        url = f"http://127.0.0.1:{port}"
        assistant = Assistant(Settings())
        client = httpx2.Client(timeout=300)
        try:
            qs = questions()
            for mode in ("base", "rag"):  # warm both sides (model, embedder, first prompt)
                in_process(assistant, qs[0], mode, 8)
                through_api(client, url, qs[0], mode, 8)
            results: dict[str, dict[str, list[float]]] = {}
            for mode in ("rag", "base"):
                sides: dict[str, list[tuple[float, float, int]]] = {"api": [], "local": []}
                for i in range(args.rounds):
                    question = (qs[1 + i % (len(qs) - 1)] if mode == "rag"
                                else STORY.format(i=i))
                    order = ("api", "local") if i % 2 else ("local", "api")
                    for side in order:
                        run = (through_api(client, url, question, mode, args.max_tokens)
                               if side == "api" else
                               in_process(assistant, question, mode, args.max_tokens))
                        sides[side].append(run)
                results[mode] = {side: [statistics.median(r[k] for r in runs) for k in range(3)]
                                 for side, runs in sides.items()}
        finally:
            client.close()
            proc.terminate()
            proc.wait(30)
    print(f"bench_serve: {args.rounds} rounds per mode, max_tokens {args.max_tokens}, "
          "medians; API = satchel serve + HTTP client, local = in-process (satchel ask)")
    for mode, sides in results.items():
        (a_ttft, a_rate, a_n), (l_ttft, l_rate, l_n) = sides["api"], sides["local"]
        print(f"  {mode:5s} tokens/s  API {a_rate:6.1f}  local {l_rate:6.1f}  "
              f"ratio {a_rate / l_rate if l_rate else 0:.3f} (target >= 0.95; "
              f"{a_n:.0f} vs {l_n:.0f} tokens)")
        print(f"  {mode:5s} TTFT      API {a_ttft * 1000:6.1f} ms  local "
              f"{l_ttft * 1000:6.1f} ms  difference {(a_ttft - l_ttft) * 1000:+.1f} ms "
              "(target <= 30 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
