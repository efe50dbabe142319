"""The binding report: what was bound, and each declaration that was not, with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field


class NumbastSkipWarning(UserWarning):
    """Some declarations were not bound; ``numbast.binding_report()`` says which and why."""


@dataclass(frozen=True)
class Bound:
    kind: str
    name: str
    py_name: str
    note: str = ""
    """`opaque: <why>` for a struct bound as its bytes (no field attributes)."""


@dataclass(frozen=True)
class Skip:
    kind: str
    name: str
    location: str
    reason: str
    code: str = ""
    """The stable code of `reason` (`host-only`, `unsupported-type`, `excluded`...), for programs."""

    def __str__(self):
        return f"{self.location}: {self.kind} {self.name}: {self.reason}"


@dataclass
class BindingReport:
    bound: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @classmethod
    def from_dict(cls, d) -> BindingReport:
        return cls([Bound(**b) for b in d["bound"]], [Skip(**s) for s in d["skipped"]])

    def extend(self, other: BindingReport):
        self.bound.extend(other.bound)
        self.skipped.extend(other.skipped)

    def __str__(self):
        lines = [f"{len(self.bound)} bound, {len(self.skipped)} skipped"]
        lines += [f"  {s}" for s in self.skipped]
        return "\n".join(lines)
