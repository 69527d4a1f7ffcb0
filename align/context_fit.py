"""Context fit: does a reply answer *its own* conversation, or would it fit anywhere?

A fixed scorer language model (the base model without adapters: never one of the models under test) gives
log p(reply | conversation). Each prompt i gets `k - 1` distractor conversations D(i), drawn from other
conversations of the same split; then, for a reply r to prompt i:

    relevance(r) = log p(r | context_i) - mean_{j in D(i)} log p(r | context_j)      (nats, pointwise MI)
    matched(r)   = log p(r | context_i) > max_{j in D(i)} log p(r | context_j)       (chance = 1 / k)

A persona's stock reply ("ahah ok", an emoji) is about as likely after any conversation: relevance ~ 0,
matched at chance. A reply that picks up the question, the plan or the place just named is much more likely
after its own conversation. Every reply set (models, the real replies, the shuffled-real control) is scored
against the same distractors, so their numbers compare.

Cost: each context is encoded once and its key/value cache is reused for every reply scored against it;
contexts with a single reply are scored as whole sequences in padded batches.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from core.errors import ChatLikeMeError
from core.schema import ChatMessage


def distractor_contexts(conversations: Sequence[str], k: int, seed: int) -> list[np.ndarray]:
    """For each prompt, up to `k - 1` other prompts from *other* conversations (never its own: a later turn
    of the same conversation contains the reply itself)."""
    keys = np.asarray(conversations)
    rng = np.random.default_rng(seed)
    chosen = []
    for i in range(len(keys)):
        candidates = np.flatnonzero(keys != keys[i])
        if len(candidates) == 0:
            raise ChatLikeMeError(
                "context fit needs held-out replies from at least 2 conversations; the split has only one"
            )
        chosen.append(rng.choice(candidates, size=min(k - 1, len(candidates)), replace=False))
    return chosen


def shuffled_partners(conversations: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """A permutation that gives every prompt the index of a prompt from another conversation (the
    shuffled-real control: the persona's real reply, sent to the wrong conversation)."""
    keys = np.asarray(conversations)
    if len(set(keys.tolist())) < 2:
        raise ChatLikeMeError("the shuffled-real control needs held-out replies from 2 conversations or more")
    perm = rng.permutation(len(keys))
    for _ in range(1000):
        bad = np.flatnonzero(keys[perm] == keys)
        if len(bad) == 0:
            return perm
        for i in bad:
            j = int(rng.integers(len(keys)))
            if keys[perm[j]] != keys[i] and keys[perm[i]] != keys[j]:
                perm[i], perm[j] = perm[j], perm[i]
    # Very unbalanced splits (one conversation holding most prompts): fall back to drawing with repeats.
    return np.array([rng.choice(np.flatnonzero(keys != keys[i])) for i in range(len(keys))])


@dataclass
class ContextFit:
    """Per reply (prompt i, sample s): relevance in nats and whether its own context won (1.0 / 0.0)."""

    relevance: np.ndarray
    matched: np.ndarray
    chance: float
    "Mean chance level of `matched` (1 / number of candidate contexts)."
    own: np.ndarray | None = None
    "log p(reply | its own context) under the scorer (for the real replies: the scorer's perplexity)."


class ReplyScorer:
    """log p(reply | context) under one causal LM, with each context's KV cache reused across replies."""

    def __init__(self, model, tokenizer, device: str, max_context_tokens: int = 768, batch_size: int = 16):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.max_context_tokens, self.batch_size = max_context_tokens, batch_size
        self._reply_ids: dict[str, list[int]] = {}

    def context_ids(self, prompt: list[ChatMessage]) -> list[int]:
        text = self._prompt_text(prompt)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[-self.max_context_tokens :]

    def reply_ids(self, reply: str) -> list[int]:
        """The reply as the chat template writes an assistant turn (its end-of-turn token included)."""
        if reply not in self._reply_ids:
            messages = [{"role": "user", "content": "x"}]
            prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            full = self.tokenizer.apply_chat_template(
                [*messages, {"role": "assistant", "content": reply}], tokenize=False
            )
            suffix = full[len(prompt) :] if full.startswith(prompt) else reply
            ids = self.tokenizer(suffix, add_special_tokens=False)["input_ids"]
            self._reply_ids[reply] = ids or [self.tokenizer.eos_token_id]
        return self._reply_ids[reply]

    def _prompt_text(self, prompt: list[ChatMessage]) -> str:
        messages = msgspec.to_builtins(prompt)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def log_probs(self, contexts: list[list[ChatMessage]], requests: list[tuple[int, str]]) -> np.ndarray:
        """Summed log-probability of each `(context index, reply)` request's reply tokens."""
        import torch
        from tqdm.auto import tqdm

        by_context: dict[int, list[int]] = defaultdict(list)
        for index, (context, _) in enumerate(requests):
            by_context[context].append(index)
        out = np.zeros(len(requests))
        # A context scored against one reply gains nothing from its cache: those go in padded batches of whole
        # sequences instead (one forward per batch, not two per reply), e.g. KTO's rows, one reply each.
        single = {
            indices[0]: (self.context_ids(contexts[context]), self.reply_ids(requests[indices[0]][1]))
            for context, indices in by_context.items()
            if len(indices) == 1
        }
        order = sorted(single, key=lambda i: len(single[i][0]) + len(single[i][1]))  # less padding
        shared = {context: indices for context, indices in by_context.items() if len(indices) > 1}
        with torch.no_grad():
            for start in tqdm(range(0, len(order), self.batch_size), desc="reply fit", unit="batch"):
                chunk = order[start : start + self.batch_size]
                out[chunk] = self._score_whole([single[i] for i in chunk])
            for context, indices in tqdm(shared.items(), desc="context fit", unit="context"):
                indices.sort(key=lambda i: len(self.reply_ids(requests[i][1])))  # less padding per batch
                ids = torch.tensor([self.context_ids(contexts[context])], device=self.device)
                encoded = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
                first_logits = encoded.logits[:, -1].float().log_softmax(-1)[0]
                for start in range(0, len(indices), self.batch_size):
                    chunk = indices[start : start + self.batch_size]
                    replies = [self.reply_ids(requests[i][1]) for i in chunk]
                    scores = self._score_after(encoded.past_key_values, ids.shape[1], first_logits, replies)
                    out[chunk] = scores
        return out

    def _score_whole(self, pairs: list[tuple[list[int], list[int]]]) -> np.ndarray:
        """Log-probabilities of each reply after its context, as one right-padded batch of whole sequences."""
        import torch

        width = max(len(context) + len(reply) for context, reply in pairs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.full((len(pairs), width), pad, dtype=torch.long)
        attention = torch.zeros((len(pairs), width), dtype=torch.long)
        targets = torch.zeros((len(pairs), width), dtype=torch.bool)  # positions holding reply tokens
        for row, (context, reply) in enumerate(pairs):
            input_ids[row, : len(context) + len(reply)] = torch.tensor(context + reply)
            attention[row, : len(context) + len(reply)] = 1
            targets[row, len(context) : len(context) + len(reply)] = True
        logits = self.model(
            input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device)
        ).logits
        # Token t is predicted by position t-1; the softmax only where a reply token is predicted.
        rows, cols = targets[:, 1:].nonzero(as_tuple=True)
        log_probs = logits[:, :-1][rows.to(self.device), cols.to(self.device)].float().log_softmax(-1)
        tokens = input_ids[:, 1:][rows, cols].to(self.device)
        picked = log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        totals = torch.zeros(len(pairs), device=self.device).index_add_(0, rows.to(self.device), picked)
        return totals.cpu().numpy()

    def _score_after(self, cache, context_length: int, first_logits, replies: list[list[int]]) -> np.ndarray:
        """Log-probabilities of `replies`, each continuing the cached context (right-padded batch)."""
        import torch

        width = max(len(r) for r in replies)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.full((len(replies), width), pad, dtype=torch.long)
        mask = torch.zeros((len(replies), width), dtype=torch.bool)
        for row, reply in enumerate(replies):
            input_ids[row, : len(reply)] = torch.tensor(reply)
            mask[row, : len(reply)] = True
        batch_cache = copy.deepcopy(cache)
        batch_cache.batch_repeat_interleave(len(replies))
        attention = torch.cat(
            [torch.ones((len(replies), context_length), dtype=torch.long), mask.long()], dim=1
        ).to(self.device)
        positions = torch.arange(context_length, context_length + width).expand(len(replies), -1)
        logits = self.model(
            input_ids=input_ids.to(self.device),
            attention_mask=attention,
            position_ids=positions.to(self.device),
            past_key_values=batch_cache,
            use_cache=True,
        ).logits.float()
        log_probs = logits.log_softmax(-1)
        # Token t of a reply is predicted by position t-1; the first by the context's last position.
        first = first_logits[input_ids[:, 0].to(self.device)]
        rest = log_probs[:, :-1].gather(-1, input_ids[:, 1:].unsqueeze(-1).to(self.device)).squeeze(-1)
        rest = (rest * mask[:, 1:].to(self.device)).sum(-1)
        return (first + rest).cpu().numpy()


def context_fit(
    scorer: ReplyScorer,
    contexts: list[list[ChatMessage]],
    reply_sets: dict[str, list[list[str]]],
    distractors: list[np.ndarray],
) -> dict[str, ContextFit]:
    """Relevance and matching of every reply of every set (`reply_sets[name][i][s]`, reply s to prompt i)."""
    requests: list[tuple[int, str]] = []
    slots: dict[str, list[list[tuple[int, np.ndarray]]]] = {}
    for name, replies in reply_sets.items():
        slots[name] = []
        for i, samples in enumerate(replies):
            row = []
            for reply in samples:
                candidates = np.concatenate([[i], distractors[i]])
                row.append((len(requests), candidates))
                requests.extend((int(c), reply) for c in candidates)
            slots[name].append(row)
    # Identical (context, reply) requests are scored once: controls and models often share replies.
    unique = {request: index for index, request in enumerate(dict.fromkeys(requests))}
    scores = scorer.log_probs(contexts, list(unique))
    flat = np.array([scores[unique[request]] for request in requests])

    fits = {}
    for name, rows in slots.items():
        samples = max(len(row) for row in rows)
        relevance = np.full((len(rows), samples), np.nan)
        matched = np.full((len(rows), samples), np.nan)
        own_scores = np.full((len(rows), samples), np.nan)
        chance = []
        for i, row in enumerate(rows):
            for s, (offset, candidates) in enumerate(row):
                own, others = flat[offset], flat[offset + 1 : offset + len(candidates)]
                relevance[i, s] = own - others.mean()
                own_scores[i, s] = own
                matched[i, s] = float(own > others.max())
                chance.append(1 / len(candidates))
        fits[name] = ContextFit(relevance, matched, float(np.mean(chance)), own_scores)
    return fits


def load_scorer(model_ref: str, max_context_tokens: int = 768, batch_size: int = 16) -> ReplyScorer:
    """The base model `model_ref` (no adapter) as a `ReplyScorer`, in the precision this machine computes
    fastest (bf16 where native, else float32)."""
    from align.models import choose_precision, load_model, load_tokenizer

    precision = choose_precision()
    model = load_model(model_ref, precision).to(precision.device).eval()
    model.config.use_cache = True  # load_model switches it off for training; the scorer reuses its cache
    return ReplyScorer(model, load_tokenizer(model_ref), precision.device, max_context_tokens, batch_size)


class LazyScorer:
    """A `ReplyScorer` loaded on first use (strategies that never score never load a model)."""

    def __init__(self, model_ref: Callable[[], str]) -> None:
        self.model_ref = model_ref
        self.scorer: ReplyScorer | None = None

    def __call__(self) -> ReplyScorer:
        if self.scorer is None:
            self.scorer = load_scorer(self.model_ref())
        return self.scorer
