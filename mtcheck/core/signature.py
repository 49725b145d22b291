"""Every setting that changes mtcheck's output, in the spirit of sacrebleu's `Signature`: named fields in a
fixed order, a short one-line form for reports and logs, and a long form a person reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    fields: tuple[tuple[str, str], ...]  # (name, value), in order
    prefix: str = ""  # "mtcheck" on the whole checker's signature

    @classmethod
    def of(cls, *pairs: tuple[str, object], prefix: str = "") -> Signature:
        return cls(tuple((k, str(v)) for k, v in pairs), prefix)

    def __add__(self, other: Signature) -> Signature:
        return Signature(self.fields + other.fields, self.prefix or other.prefix)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)

    def short(self) -> str:
        """`name:value|name:value...`, as reports record it in `settings.signature`."""
        body = "|".join(f"{k}:{v}" for k, v in self.fields)
        return f"{self.prefix}:{body}" if self.prefix else body

    def long(self) -> str:
        """One setting a line."""
        width = max((len(k) for k, _v in self.fields), default=0)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in self.fields)

    def to_json(self) -> dict[str, str]:
        return dict(self.fields)

    def __str__(self) -> str:
        return self.short()
