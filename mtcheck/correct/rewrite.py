"""One more candidate: a rewrite of the sentence by the instruction-tuned model, few-shot. It is ranked and
guarded like every other candidate, never trusted unranked."""

from __future__ import annotations

from mtcheck.lm.model import TOKENIZING, LanguageModel

SYSTEM = (
    "You repair machine-translated English news sentences. Fix grammar, broken sentence boundaries and "
    "word-for-word renderings. Keep every name, number and negation. Reply with the repaired sentence only."
)
# Made-up examples of the artifacts (not taken from any evaluation or sample file).
EXAMPLES = (
    (
        "The minister said the ministry It will. Review the budget next month.",
        "The minister said the ministry will review the budget next month.",
    ),
    (
        "Talks will resume in Paris on Friday. with all member states present.",
        "Talks will resume in Paris on Friday with all member states present.",
    ),
    (
        "The company said the offer was a no start for its shareholders.",
        "The company said the offer was a non-starter for its shareholders.",
    ),
)


class Rewriter:
    def __init__(self, lm: LanguageModel, max_new_tokens: int = 64):
        self.lm = lm
        self.max_new_tokens = max_new_tokens
        self.available = bool(getattr(lm.tokenizer, "chat_template", None))

    def prompt(self, sentence: str) -> str:
        messages = [{"role": "system", "content": SYSTEM}]
        for bad, good in EXAMPLES:
            messages += [{"role": "user", "content": bad}, {"role": "assistant", "content": good}]
        messages.append({"role": "user", "content": sentence})
        return self.lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def rewrite_many(self, sentences: list[str]) -> list[str | None]:
        """Greedy rewrites of several sentences in one batch (left-padded), so flags share the cost."""
        if not self.available or not sentences:
            return [None] * len(sentences)
        import torch

        tok = self.lm.tokenizer
        with TOKENIZING:  # the padding side is the tokenizer's own setting: no other call may see it changed
            side = tok.padding_side
            tok.padding_side = "left"
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            try:
                batch = tok(
                    [self.prompt(s) for s in sentences], return_tensors="pt", padding=True, add_special_tokens=False
                ).to(self.lm.device)
            finally:
                tok.padding_side = side
        budget = min(self.max_new_tokens, max(len(self.lm.tokenize(s)[0]) for s in sentences) + 12)
        with torch.inference_mode():
            out = self.lm.model.generate(**batch, max_new_tokens=budget, do_sample=False, pad_token_id=tok.pad_token_id)
        results: list[str | None] = []
        for row in out[:, batch["input_ids"].shape[1] :]:
            with TOKENIZING:
                text = tok.decode(row, skip_special_tokens=True).strip()
            results.append(text.splitlines()[0].strip() if text else None)
        return results

    def rewrite(self, sentence: str) -> str | None:
        return self.rewrite_many([sentence])[0]
