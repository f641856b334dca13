"""Camera topology: which camera pairs a vehicle passes between, and how long the transit takes.

Transit from camera A to camera B is ``t_start(B tracklet) - t_end(A tracklet)`` in seconds; it is negative when
the two cameras see the same place (overlapping views). The topology learns it from data: every confident
match reports its transit, and once a pair has ``min_samples`` of them its window becomes the
[``quantiles``] range of those samples, widened by ``margin_s`` and ``margin_fraction``. Until then a pair gets
the prior window [0, ``prior_max_transit_s``] (no overlap: without ground positions two cameras are assumed to
see different places). Once camera A has handed ``mature_after`` vehicles over to other cameras (confident
matches with a positive transit), a pair (A, B) that never saw one counts as unconnected (when
``block_unseen_pairs``): vehicles leaving A go elsewhere. A hand-written override file fixes any pair's window
or marks it unconnected, and wins over what is learned:

    pairs:
      - {cameras: [cam01, cam03], transit_s: [10, 40]}      # both directions unless directed: true
      - {cameras: [cam01, cam04], connected: false}
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trackers.config import CONFIG_DIR, ConfigError, read_yaml_mapping

Pair = tuple[str, str]


class TopologyConfig(BaseModel):
    """Topology learning settings (the ``topology`` block of ``trackers/configs/association.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prior_max_transit_s: float = Field(gt=0, description="Window [0, this] (s) for pairs not learned yet.")
    min_samples: int = Field(ge=1, description="Confident transits before a pair's window is learned.")
    quantiles: tuple[float, float] = Field(description="Sample quantiles spanning a learned window.")
    margin_s: float = Field(ge=0, description="Seconds added on both sides of a learned window.")
    margin_fraction: float = Field(ge=0, description="Fraction of its width added on both sides.")
    mature_after: int = Field(
        ge=1, description="Hand-offs from a camera before its unseen pairs are blocked."
    )
    block_unseen_pairs: bool = Field(description="Block pairs with no confident transit once mature.")
    override_file: Path | None = Field(description="Hand-written pair windows (YAML), or null.")

    @model_validator(mode="after")
    def _ordered_quantiles(self) -> TopologyConfig:
        lo, hi = self.quantiles
        if not 0 <= lo < hi <= 1:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {self.quantiles}")
        return self


class _PairOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cameras: tuple[str, str]
    transit_s: tuple[float, float] | None = None
    connected: bool = True
    directed: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> _PairOverride:
        if self.connected and self.transit_s is None:
            raise ValueError("a connected pair needs transit_s: [min, max] seconds")
        if self.transit_s is not None and self.transit_s[0] > self.transit_s[1]:
            raise ValueError(f"transit_s must be [min, max], got {list(self.transit_s)}")
        return self


def default_topology_config() -> TopologyConfig:
    """The ``topology`` block of the shipped ``association.yaml``."""
    return TopologyConfig.model_validate(read_yaml_mapping(CONFIG_DIR / "association.yaml")["topology"])


def read_overrides(path: str | Path) -> dict[Pair, tuple[float, float] | None]:
    """Ordered pair -> window (min, max) s, or None for an unconnected pair, from an override file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        entries = [_PairOverride.model_validate(e) for e in raw.get("pairs", [])]
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such topology override file; fix topology.override_file") from None
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        raise ConfigError(f"{path}: not a topology override file ({exc}); see trackers/topology.py") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            f"{path}: bad pair entry {first['loc']}: {first['msg']}; each entry is "
            "{cameras: [A, B], transit_s: [min, max]} or {cameras: [A, B], connected: false}"
        ) from None
    out: dict[Pair, tuple[float, float] | None] = {}
    for e in entries:
        window = e.transit_s if e.connected else None
        a, b = e.cameras
        out[(a, b)] = window
        if not e.directed:
            out[(b, a)] = window
    return out


class CameraTopology:
    """Transit windows between ordered camera pairs, learned from confident matches (see the module doc)."""

    def __init__(self, config: TopologyConfig | None = None) -> None:
        self.config = config or default_topology_config()
        self.overrides = read_overrides(self.config.override_file) if self.config.override_file else {}
        self._samples: dict[Pair, list[float]] = defaultdict(list)
        self._handoffs_from: dict[str, int] = defaultdict(int)

    def observe(self, source: str, target: str, transit_s: float) -> None:
        """Record one confident match's transit (s) from camera ``source`` to camera ``target``."""
        if np.isfinite(transit_s):
            self._samples[(source, target)].append(float(transit_s))
            if source != target and transit_s > 0:
                self._handoffs_from[source] += 1

    def window(self, source: str, target: str) -> tuple[float, float] | None:
        """The allowed transit range (min, max) s from ``source`` to ``target``; None when unconnected."""
        pair = (source, target)
        if pair in self.overrides:
            return self.overrides[pair]
        samples = self._samples.get(pair, [])
        cfg = self.config
        if len(samples) >= cfg.min_samples:
            lo, hi = np.quantile(samples, cfg.quantiles)
            pad = cfg.margin_s + cfg.margin_fraction * (hi - lo)
            return float(lo - pad), float(hi + pad)
        mature = self._handoffs_from.get(source, 0) >= cfg.mature_after
        if cfg.block_unseen_pairs and not samples and source != target and mature:
            return None
        return 0.0, cfg.prior_max_transit_s

    def allows(self, source: str, target: str, transit_s: float) -> bool:
        window = self.window(source, target)
        return window is not None and window[0] <= transit_s <= window[1]

    def learned_pairs(self) -> dict[Pair, dict[str, Any]]:
        """Every pair with samples: count, median and window, for reports."""
        out = {}
        for pair, samples in sorted(self._samples.items()):
            window = self.window(*pair)
            out[pair] = {
                "samples": len(samples),
                "median_s": float(np.median(samples)),
                "window_s": None if window is None else [round(window[0], 2), round(window[1], 2)],
                "learned": len(samples) >= self.config.min_samples and pair not in self.overrides,
            }
        return out

    def samples(self) -> dict[Pair, list[float]]:
        return {pair: list(v) for pair, v in self._samples.items()}

    def state(self) -> dict[str, Any]:
        """JSON-ready learned state (the samples), for snapshots."""
        return {
            "samples": [[a, b, v] for (a, b), v in self._samples.items()],
            "handoffs_from": self._handoffs_from,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._samples = defaultdict(list, {(a, b): [float(x) for x in v] for a, b, v in state["samples"]})
        self._handoffs_from = defaultdict(int, {c: int(n) for c, n in state["handoffs_from"].items()})
