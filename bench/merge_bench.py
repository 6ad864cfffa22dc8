"""Time ``merge_bundles`` on 4 matrix bundles: 1,000 modules in all vs 4,000.

    python bench/merge_bench.py

Linear merging makes the 4x larger input take about 4x as long; the quadratic merge
it replaces (issue 11, item 8) took about 16x (four bundles of 5,000 modules: 139 s).
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from specmill.core.records import ModuleResult, RunRecord  # noqa: E402
from specmill.github.bundle import Bundle, BundleEvent  # noqa: E402
from specmill.github.matrix import merge_bundles  # noqa: E402

EVENT = BundleEvent(
    repository="acme/billing",
    number=7,
    base_sha="3" * 40,
    head_sha="c" * 40,
    head_ref="many",
    head_repository="acme/billing",
)


def bundles(total: int) -> list[Bundle]:
    share = total // 4
    made = []
    for job in range(4):
        modules = [
            ModuleResult(
                module=f"m{job}.{i}", spec=f"specs/m{job}/{i}.md", inputs_hash="x", status="passed"
            )
            for i in range(share)
        ]
        graph = {f"m{job}.{i}": [f"m{job}.{i - 1}"] if i else [] for i in range(share)}
        record = RunRecord(run_id=f"r{job}", started_at="2026-01-01T00:00:00Z", modules=modules)
        made.append(
            Bundle(specmill_version="0", event=EVENT, reason="r", record=record, graph=graph)
        )
    return made


def seconds(total: int) -> float:
    """The best of five merges, without the garbage collector (the least noisy figure)."""
    inputs = bundles(total)
    times = []
    gc.collect()
    gc.disable()
    for _ in range(5):
        start = time.perf_counter()
        merged = merge_bundles(inputs)
        times.append(time.perf_counter() - start)
        assert merged.record is not None and len(merged.record.modules) == total
    gc.enable()
    return min(times)


def main() -> None:
    small, large = seconds(1_000), seconds(4_000)
    print(f"merge 1,000 modules: {small * 1000:.1f} ms")
    print(f"merge 4,000 modules: {large * 1000:.1f} ms")
    print(f"ratio for 4x the modules: {large / small:.1f}x (linear: ~4x, quadratic: ~16x)")


if __name__ == "__main__":
    main()
