"""Token sampling with a generator owned by one request.

`model.generate(do_sample=True)` draws from torch's process-wide RNG, so a seed set for one request
would be consumed by any other generation running in another thread at the same time, and seeding
it would disturb theirs. Instead, generation runs greedily and this logits processor, last in the
chain, draws the token itself from a per-request `torch.Generator` and leaves only that token
possible. A seed then reproduces an answer however many other models generate concurrently.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor


class SeededSampler(LogitsProcessor):
    """Temperature and nucleus (top-p) sampling from a private generator; batch size 1 or more."""

    def __init__(self, *, temperature: float, top_p: float, seed: int | None) -> None:
        if temperature <= 0:
            raise ValueError("temperature must be positive; a temperature of 0 means greedy decoding")
        self.temperature = temperature
        self.top_p = min(max(top_p, 0.0), 1.0)
        self.seed = seed
        self._generator: torch.Generator | None = None

    def _generator_for(self, device: torch.device) -> torch.Generator:
        # Created lazily: the device of the logits is only known once generation runs.
        if self._generator is None:
            self._generator = torch.Generator(device=device)
            if self.seed is None:
                self._generator.seed()
            else:
                self._generator.manual_seed(self.seed)
        return self._generator

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            # Drop a token once the more likely ones already cover top_p; the first always stays.
            outside = sorted_probs.cumsum(dim=-1) - sorted_probs >= self.top_p
            outside[..., 0] = False
            sorted_probs = sorted_probs.masked_fill(outside, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        chosen = torch.multinomial(probs, num_samples=1, generator=self._generator_for(probs.device))
        only_chosen = torch.full_like(scores, float("-inf"))
        return only_chosen.scatter(-1, chosen, 0.0)  # type: ignore[return-value]
