"""One more candidate: a rewrite of the sentence by the instruction-tuned model, few-shot. It is ranked and
guarded like every other candidate, never trusted unranked."""

from __future__ import annotations

from ..scoring import LanguageModel

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

    def rewrite(self, sentence: str, context: str = "") -> str | None:
        if not self.available:
            return None
        import torch

        messages = [{"role": "system", "content": SYSTEM}]
        for bad, good in EXAMPLES:
            messages += [{"role": "user", "content": bad}, {"role": "assistant", "content": good}]
        messages.append({"role": "user", "content": sentence})
        prompt = self.lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(self.lm.device)
        budget = min(self.max_new_tokens, len(self.lm.tokenize(sentence)[0]) + 12)
        with torch.inference_mode():
            out = self.lm.model.generate(
                ids, max_new_tokens=budget, do_sample=False, pad_token_id=self.lm.tokenizer.eos_token_id
            )
        text = self.lm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()
        text = text.splitlines()[0].strip() if text else ""
        return text or None
