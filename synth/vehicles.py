"""Sampling vehicle identities: type, proportions, paint and the small details that tell look-alikes apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from synth.config import TrafficConfig
from synth.types import BGR, VehicleIdentity

# (length, width, height) ranges in metres, from typical dimensions of each class.
DIMENSIONS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "sedan": ((4.4, 4.9), (1.75, 1.85), (1.40, 1.50)),
    "suv": ((4.5, 4.95), (1.85, 1.98), (1.65, 1.82)),
    "van": ((4.9, 5.5), (1.95, 2.05), (2.00, 2.40)),
    "truck": ((6.5, 8.0), (2.30, 2.50), (2.90, 3.40)),
    "bus": ((10.5, 12.0), (2.50, 2.55), (3.00, 3.30)),
}
HEAVY_TYPES = ("truck", "bus")
STRIPE_COLOURS: tuple[BGR, ...] = (
    (245, 245, 245),
    (25, 25, 25),
    (30, 30, 190),
    (190, 190, 190),
    (30, 160, 230),
)
SILVER_RIM: BGR = (190, 190, 192)
COLOURED_RIMS: tuple[BGR, ...] = ((30, 30, 30), (50, 170, 210), (70, 70, 75), (235, 235, 235))
WHITE_PLATE: BGR = (235, 238, 240)
YELLOW_PLATE: BGR = (40, 200, 245)
CARGO_COLOURS: tuple[BGR, ...] = (
    (235, 235, 235),
    (185, 185, 185),
    (150, 80, 30),
    (40, 40, 170),
    (60, 110, 50),
)
LIGHT_TINT, DARK_TINT = (0.25, 0.5), (0.75, 0.95)


class IdentitySampler:
    """Draws identities in arrival order; ids start at 1. Deterministic for a given generator state."""

    def __init__(self, cfg: TrafficConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng
        self.types = list(cfg.type_mix)
        weights = np.array([cfg.type_mix[t] for t in self.types], dtype=np.float64)
        self.type_p = weights / weights.sum()
        palette_w = np.array([c.weight for c in cfg.palette], dtype=np.float64)
        self.palette_p = palette_w / palette_w.sum()
        self.issued: list[VehicleIdentity] = []

    def next(self) -> VehicleIdentity:
        rng, cfg = self.rng, self.cfg
        vehicle_id = len(self.issued) + 1
        if self.issued and rng.random() < cfg.lookalike_fraction:
            # A look-alike: same type, paint and body size as an earlier vehicle; only details may differ.
            twin = self.issued[rng.integers(len(self.issued))]
            vtype, colour_name, body = twin.vtype, twin.colour_name, twin.body_bgr
            length, width, height, cargo = twin.length_m, twin.width_m, twin.height_m, twin.cargo_bgr
        else:
            vtype = self.types[rng.choice(len(self.types), p=self.type_p)]
            paint = cfg.palette[rng.choice(len(cfg.palette), p=self.palette_p)]
            colour_name, body = paint.name, paint.bgr
            (l_lo, l_hi), (w_lo, w_hi), (h_lo, h_hi) = DIMENSIONS[vtype]
            length, width, height = (
                round(rng.uniform(l_lo, l_hi), 2),
                round(rng.uniform(w_lo, w_hi), 2),
                round(rng.uniform(h_lo, h_hi), 2),
            )
            cargo = CARGO_COLOURS[rng.integers(len(CARGO_COLOURS))] if vtype == "truck" else body
        d = cfg.details
        stripe = None
        if rng.random() < d.stripe:
            stripe = "side" if rng.random() < 0.6 else "bonnet"
        stripe_choices = [c for c in STRIPE_COLOURS if _distance(c, body) > 120] or list(STRIPE_COLOURS)
        tint_range = DARK_TINT if rng.random() < d.dark_tint else LIGHT_TINT
        identity = VehicleIdentity(
            vehicle_id=vehicle_id,
            vtype=vtype,
            length_m=length,
            width_m=width,
            height_m=height,
            colour_name=colour_name,
            body_bgr=body,
            roof_rack=bool(rng.random() < d.roof_rack) and vtype not in HEAVY_TYPES,
            stripe=stripe,
            stripe_bgr=stripe_choices[rng.integers(len(stripe_choices))],
            window_tint=round(float(rng.uniform(*tint_range)), 3),
            sunroof=bool(rng.random() < d.sunroof) and vtype in ("sedan", "suv"),
            plate_bgr=YELLOW_PLATE if rng.random() < d.yellow_plate else WHITE_PLATE,
            plate_code=int(rng.integers(0, 2**31 - 1)),
            wheel_bgr=COLOURED_RIMS[rng.integers(len(COLOURED_RIMS))]
            if rng.random() < d.coloured_wheels
            else SILVER_RIM,
            cargo_bgr=cargo,
        )
        self.issued.append(identity)
        return identity


def _distance(a: BGR, b: BGR) -> float:
    return float(np.linalg.norm(np.subtract(a, b, dtype=np.float64)))


def typical_identity(vehicle_id: int = 1, vtype: str = "sedan", **changes: object) -> VehicleIdentity:
    """A plain red vehicle of mid-range size for its type, no details: a fixed subject for tests and showrooms.

    ``changes`` replace any field, e.g. ``typical_identity(2, "suv", roof_rack=True)``.
    """
    (l_lo, l_hi), (w_lo, w_hi), (h_lo, h_hi) = DIMENSIONS[vtype]
    base = VehicleIdentity(
        vehicle_id=vehicle_id,
        vtype=vtype,
        length_m=round((l_lo + l_hi) / 2, 2),
        width_m=round((w_lo + w_hi) / 2, 2),
        height_m=round((h_lo + h_hi) / 2, 2),
        colour_name="red",
        body_bgr=(35, 35, 175),
        roof_rack=False,
        stripe=None,
        stripe_bgr=STRIPE_COLOURS[0],
        window_tint=0.4,
        sunroof=False,
        plate_bgr=WHITE_PLATE,
        plate_code=vehicle_id * 7919,
        wheel_bgr=SILVER_RIM,
        cargo_bgr=CARGO_COLOURS[0],
    )
    return replace(base, **changes)
