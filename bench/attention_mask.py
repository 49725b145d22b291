"""Boolean against additive attention masks in `scaled_dot_product_attention`, at the shapes of the packed pass and
the rescoring (rows, 9 heads, new tokens, past + new slots, head size 64; SmolLM2-135M), in bf16 on this machine.

`LanguageModel.decode` turns the packed batches' boolean masks into additive ones: the outputs are the same
(the difference printed is 0.0) and the kernel is faster on CPU.

    .venv/bin/python bench/attention_mask.py
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F  # noqa: N812

SHAPES = ((16, 64, 320), (8, 128, 128), (4, 256, 256))  # (rows, queries, keys)
REPEAT = 30


def main() -> None:
    torch.manual_seed(0)
    for rows, q, kv in SHAPES:
        query = torch.randn(rows, 9, q, 64, dtype=torch.bfloat16)
        key, value = (
            torch.randn(rows, 9, kv, 64, dtype=torch.bfloat16),
            torch.randn(rows, 9, kv, 64, dtype=torch.bfloat16),
        )
        allowed = torch.rand(rows, 1, q, kv) > 0.5
        allowed[..., :1] = True  # no row without a key (as the padding that sees itself)
        additive = torch.zeros(allowed.shape, dtype=torch.bfloat16).masked_fill_(~allowed, float("-inf"))
        times, outs = {}, {}
        with torch.inference_mode():
            for name, mask in (("boolean", allowed), ("additive", additive)):
                outs[name] = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
                start = time.perf_counter()
                for _ in range(REPEAT):
                    F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
                times[name] = (time.perf_counter() - start) / REPEAT * 1000
        diff = (outs["boolean"].float() - outs["additive"].float()).abs().max().item()
        print(
            f"rows {rows:3d} x {q:3d} queries x {kv:3d} keys: boolean {times['boolean']:.2f} ms, additive "
            f"{times['additive']:.2f} ms ({times['boolean'] / times['additive']:.2f}x), max difference {diff}"
        )


if __name__ == "__main__":
    main()
