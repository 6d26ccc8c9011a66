"""Local news sites on 127.0.0.1 for the demo, the end-to-end tests and the benchmark.

- `NewsWorld`: a handful of sites (bundled real pages, the Al-Wefaq founding example, a second
  outlet carrying a re-spelled copy of its agency story, and with ``faults=True`` a faulty site).
- `GeneratedWorld`: many synthetic Arabic article pages over several hosts, with latency.

Both are context managers; ``sources()`` returns sources.yaml-shaped dicts with the live URLs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["NewsWorld", "GeneratedWorld"]

if TYPE_CHECKING:
    from .generated import GeneratedWorld
    from .world import NewsWorld


def __getattr__(name: str) -> Any:
    # imported lazily so that `python -m flows.demo_world.world` runs without a warning
    if name == "NewsWorld":
        from .world import NewsWorld

        return NewsWorld
    if name == "GeneratedWorld":
        from .generated import GeneratedWorld

        return GeneratedWorld
    raise AttributeError(name)
