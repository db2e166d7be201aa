"""One scenario's figures, how they print, and when it passes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from devtools.chaos.audit import EffectCount, LedgerCheck


class ScenarioResult(BaseModel):
    """Figures of one run of one scenario; ``passed`` is computed from them."""

    scenario: str
    fault: str
    orders_placed: int = 0
    orders_completed: int = 0
    effects: dict[str, EffectCount] = Field(default_factory=dict)
    ledger: LedgerCheck = Field(default_factory=LedgerCheck)
    # Scenario-specific pass conditions, each named for what it proves.
    checks: dict[str, bool] = Field(default_factory=dict)
    figures: dict[str, float | int | str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    wall_s: float = 0.0
    error: str | None = None

    @property
    def orders_lost(self) -> int:
        return self.orders_placed - self.orders_completed

    @property
    def duplicated(self) -> int:
        return sum(e.duplicated for e in self.effects.values())

    @property
    def resent(self) -> int:
        return sum(e.resent for e in self.effects.values())

    @property
    def missing(self) -> int:
        return sum(e.missing for e in self.effects.values())

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.orders_placed > 0
            and self.orders_lost == 0
            and self.duplicated == 0
            and self.missing == 0
            and self.ledger.balanced
            and all(self.checks.values())
        )

    def summary(self) -> dict[str, object]:
        """The JSON written by ``--json``: every figure plus the derived ones."""
        return {
            **self.model_dump(),
            "orders_lost": self.orders_lost,
            "duplicated": self.duplicated,
            "resent": self.resent,
            "missing": self.missing,
            "ledger_balanced": self.ledger.balanced,
            "passed": self.passed,
        }

    def render(self) -> str:
        """A block of text for the terminal."""
        verdict = "PASS" if self.passed else "FAIL"
        out = [
            f"== {self.scenario}: {verdict}  ({self.wall_s:.1f} s)",
            f"   fault: {self.fault}",
            f"   orders placed {self.orders_placed}, completed {self.orders_completed}, "
            f"lost {self.orders_lost}",
            f"   {'effect':<13}{'expected':>9}{'counted':>9}{'duplicated':>12}{'missing':>9}",
        ]
        for name, e in self.effects.items():
            out.append(
                f"   {name:<13}{e.expected:>9}{e.counted:>9}{e.duplicated:>12}{e.missing:>9}"
                + (f"   e.g. {', '.join(e.examples)}" if e.examples else "")
            )
            if e.resent:
                out.append(
                    f"   {'':<13}resent {e.resent}: the same Message-ID again (a retry after "
                    "the server accepted, before the outbox recorded it; allowed)"
                )
        led = self.ledger
        out.append(
            f"   stock ledger: {led.skus} SKU/warehouse rows, received {led.received} = "
            f"on hand {led.on_hand} + shipped {led.shipped} + written off {led.written_off}: "
            f"{'balanced' if led.balanced else 'UNBALANCED'}"
        )
        out += [f"     {line}" for line in led.unbalanced + led.reserved_drift]
        if self.figures:
            out.append("   " + ", ".join(f"{k} {v}" for k, v in self.figures.items()))
        for name, ok in self.checks.items():
            out.append(f"   [{'ok' if ok else 'FAILED'}] {name}")
        out += [f"   note: {n}" for n in self.notes]
        if self.error:
            out.append(f"   error: {self.error}")
        return "\n".join(out)
