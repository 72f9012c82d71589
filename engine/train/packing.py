"""Examples -> token blocks of exactly ``seq_len``: tokenized once, packed, no padding waste.

Why packing: chunks and Q&A pairs are short (tens to a few hundred tokens). A padded batch pays
full compute for every pad position; on a CPU, where compute is the whole cost, that waste is
often half of the run. Plain text is packed as one stream cut into blocks (every position
trains); chat pairs are never split (an answer without its question teaches nothing), so they are
bin-packed first-fit-decreasing and only the leftover tail of a block is filler, with no loss.

Pairs packed in one block never see each other: each starts again at position 0 (the block's
``positions``), and the trainer passes those position ids, from which transformers builds a
block-diagonal causal mask. Why: at answer time a question stands alone after the system
prompt. Packed without this, a knowledge adapter learned each answer *after the same few other
pairs* (the packing is deterministic, so every epoch repeated them): its training loss fell to
0.004, yet asked alone it answered 6 of 50 SQLite development questions. Each pair apart, the
same data and steps answered 7, and 9 in the smaller steps knowledge now takes
(:data:`engine.train.trainer.KIND_OVERRIDES`).

Chat pairs are rendered with the base model's own chat template, so training sees exactly the
prompt format the runtime sends, and only the assistant's tokens (the answer and its end-of-turn
token) carry loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.train.data import Example, TrainDataError

IGNORE = -100


@dataclass
class Encoded:
    """One tokenized example: ids and per-token labels (IGNORE where there is no loss)."""

    ids: list[int]
    labels: list[int]
    origin: str
    stream: bool  # plain text (may be cut between blocks) or a chat pair (kept whole)


@dataclass
class Blocks:
    """Packed sequences, all ``seq_len`` long."""

    ids: list[list[int]]
    labels: list[list[int]]
    real_tokens: int  # tokens that are data (not filler)
    loss_tokens: int
    lengths: list[int]  # data tokens per block (the rest is filler)
    #: Position ids per block: a text block counts on from 0, each packed pair starts at 0 again.
    positions: list[list[int]]

    def __len__(self) -> int:
        return len(self.ids)


def _render(tokenizer: Any, messages: list[dict[str, str]], *, gen_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False,
                                         add_generation_prompt=gen_prompt)


def encode_chat(example: Example, tokenizer: Any) -> Encoded:
    """Token ids of a conversation with loss on every assistant turn.

    The template is rendered for growing prefixes of the conversation; each assistant turn is the
    text between "prompt up to this turn" and "conversation up to this turn". Segments are
    tokenized separately, exactly as the runtime tokenizes a prompt and then generates. A template
    that is not prefix-stable (it rewrites earlier turns) gets loss on the last turn only.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TrainDataError("the base model has no chat template; train on a collection "
                             "(plain text) instead of question/answer pairs")
    msgs = [{"role": r, "content": c} for r, c in example.messages]
    turns = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
    segments: list[tuple[str, str]] = []  # (context text, answer text)
    done = ""
    for i in turns:
        prompt = _render(tokenizer, msgs[:i], gen_prompt=True)
        full = _render(tokenizer, msgs[: i + 1], gen_prompt=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            segments = []
            break
        segments.append((prompt[len(done):], full[len(prompt):]))
        done = full
    if not segments:
        prompt = _render(tokenizer, msgs[: turns[-1]], gen_prompt=True)
        full = _render(tokenizer, msgs, gen_prompt=False)
        if not full.startswith(prompt):
            raise TrainDataError(f"{example.origin}: the model's chat template renders this "
                                 "conversation in a way Satchel cannot split into prompt and "
                                 "answer")
        segments = [(prompt, full[len(prompt):])]
    ids: list[int] = []
    labels: list[int] = []
    for n, (context_text, answer_text) in enumerate(segments):
        context = tokenizer.encode(context_text, add_special_tokens=n == 0)
        answer = tokenizer.encode(answer_text, add_special_tokens=False)
        ids += context + answer
        labels += [IGNORE] * len(context) + answer
    return Encoded(ids, labels, example.origin, stream=False)


def encode_text(example: Example, tokenizer: Any) -> Encoded:
    """Plain text for continued pre-training, ended by the end-of-sequence token."""
    ids = [*tokenizer.encode(example.text, add_special_tokens=False), tokenizer.eos_token_id]
    return Encoded(ids, list(ids), example.origin, stream=True)


def encode(examples: list[Example], tokenizer: Any, seq_len: int, *,
           skip_long: bool = False) -> list[Encoded]:
    """Tokenize every example; a chat pair longer than ``seq_len`` is a one-line error.

    ``skip_long`` drops such pairs instead: for examples Satchel generated itself (reader and
    knowledge adapters) an odd long one is not the user's to fix.
    """
    out: list[Encoded] = []
    for ex in examples:
        if ex.is_chat:
            enc = encode_chat(ex, tokenizer)
            if len(enc.ids) > seq_len and skip_long:
                continue
            if len(enc.ids) > seq_len:
                raise TrainDataError(
                    f"{ex.origin}: the pair is {len(enc.ids)} tokens, longer than the training "
                    f"context of {seq_len} tokens; shorten it or choose a preset with a longer "
                    "context")
        else:
            enc = encode_text(ex, tokenizer)
        if any(label != IGNORE for label in enc.labels):
            out.append(enc)
    return out


def pack(encoded: list[Encoded], seq_len: int, pad_id: int, *,
         one_per_block: bool = False) -> Blocks:
    """Pack text as one stream and chat pairs by first-fit decreasing (deterministic).

    ``one_per_block`` gives every chat example a block of its own (the trainer trims the
    filler, so it costs nothing): a reader example must start at position 0 with nothing before
    it, exactly as the prompt does at answer time.
    """
    ids: list[list[int]] = []
    labels: list[list[int]] = []
    positions: list[list[int]] = []
    stream_ids = [t for e in encoded if e.stream for t in e.ids]
    stream_labels = [t for e in encoded if e.stream for t in e.labels]
    for start in range(0, len(stream_ids), seq_len):
        ids.append(stream_ids[start:start + seq_len])
        labels.append(stream_labels[start:start + seq_len])
        positions.append(list(range(len(ids[-1]))))
    bins: list[tuple[list[int], list[int], list[int]]] = []
    for enc in sorted((e for e in encoded if not e.stream), key=lambda e: -len(e.ids)):
        for b_ids, b_labels, b_positions in ([] if one_per_block else bins):
            if len(b_ids) + len(enc.ids) <= seq_len:
                b_ids += enc.ids
                b_labels += enc.labels
                b_positions += range(len(enc.ids))  # a pair of its own (see the docstring)
                break
        else:
            bins.append((list(enc.ids), list(enc.labels), list(range(len(enc.ids)))))
    for b_ids, b_labels, b_positions in bins:
        ids.append(b_ids)
        labels.append(b_labels)
        positions.append(b_positions)
    lengths = [len(b) for b in ids]
    for b_ids, b_labels, b_positions in zip(ids, labels, positions, strict=True):
        fill = seq_len - len(b_ids)
        b_ids += [pad_id] * fill
        b_labels += [IGNORE] * fill
        # the filler counts on from the block's last pair: it is never attended to (it comes
        # last, the mask is causal) and starts no new pair
        b_positions += range(b_positions[-1] + 1, b_positions[-1] + 1 + fill)
    loss = sum(1 for b in labels for t in b[1:] if t != IGNORE)
    return Blocks(ids, labels, sum(lengths), loss, lengths, positions)


def encode_and_pack(examples: list[Example], tokenizer: Any, seq_len: int, *,
                    one_per_block: bool = False, skip_long: bool = False) -> Blocks:
    return pack(encode(examples, tokenizer, seq_len, skip_long=skip_long), seq_len,
                tokenizer.eos_token_id, one_per_block=one_per_block)
