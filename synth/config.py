"""Typed configuration of a synthetic scene.

Every key is documented here (``Field(description=...)``) and in the commented preset YAML files under
``synth/presets/``. A preset file may name a ``base`` preset and override only some keys; the CLI applies
``--set dotted.key=value`` overrides last. Units: metres, seconds, degrees, pixels; colours are BGR 0-255.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PRESET_DIR = Path(__file__).parent / "presets"
VEHICLE_TYPES = ("sedan", "suv", "van", "truck", "bus")
BGR = tuple[int, int, int]


class ConfigError(ValueError):
    """A scene configuration the user can fix (bad preset name, bad YAML, bad value)."""


class _Strict(BaseModel):
    # Unknown keys are errors: a typo in a YAML file must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoadConfig(_Strict):
    grid: tuple[int, int] = Field(
        (2, 1), description="Intersections along x and along y (a grid of crossings)."
    )
    spacing_m: float = Field(240.0, gt=40, description="Distance between neighbouring intersections (m).")
    arm_length_m: float = Field(
        150.0,
        gt=20,
        description="Length of each road leaving the grid to the map edge, where vehicles enter/leave (m).",
    )
    lanes_per_direction: int = Field(1, ge=1, le=3, description="Lanes in each direction of every road.")
    lane_width_m: float = Field(3.5, gt=2.0, le=5.0, description="Width of one lane (m).")
    sidewalk_width_m: float = Field(2.5, ge=0.0, description="Sidewalk on each side of a road (m).")


class SignalConfig(_Strict):
    min_green_s: float = Field(5.0, gt=0, description="Shortest green of any phase (s).")
    straight_max_green_s: float = Field(
        20.0,
        gt=0,
        description="Longest green for straight-on and right-turn movements while others wait (s).",
    )
    left_max_green_s: float = Field(
        8.0, gt=0, description="Longest protected left-turn green while others wait (s)."
    )
    all_red_s: float = Field(2.0, ge=0, description="All-red clearance between phases (s).")
    detector_range_m: float = Field(
        40.0, gt=0, description="A vehicle this close to its stop line calls for (or holds) its green (m)."
    )


class PaintColour(_Strict):
    name: str = Field(description="Colour name, e.g. 'white'.")
    bgr: BGR = Field(description="Base paint colour before lighting (BGR 0-255).")
    weight: float = Field(gt=0, description="Relative frequency in the fleet.")


DEFAULT_PALETTE = (
    PaintColour(name="white", bgr=(236, 238, 240), weight=24),
    PaintColour(name="black", bgr=(28, 28, 30), weight=19),
    PaintColour(name="grey", bgr=(112, 112, 116), weight=16),
    PaintColour(name="silver", bgr=(182, 182, 178), weight=14),
    PaintColour(name="blue", bgr=(140, 70, 30), weight=8),
    PaintColour(name="red", bgr=(35, 35, 175), weight=8),
    PaintColour(name="dark_green", bgr=(50, 80, 40), weight=3),
    PaintColour(name="beige", bgr=(150, 180, 200), weight=3),
    PaintColour(name="yellow", bgr=(40, 200, 230), weight=2),
    PaintColour(name="orange", bgr=(30, 120, 230), weight=1),
    PaintColour(name="brown", bgr=(40, 65, 100), weight=2),
)


class DetailConfig(_Strict):
    """Probabilities of the identity details that tell look-alike vehicles apart."""

    roof_rack: float = Field(0.15, ge=0, le=1, description="Probability of a roof rack.")
    stripe: float = Field(0.15, ge=0, le=1, description="Probability of a body stripe (side or bonnet).")
    dark_tint: float = Field(
        0.35, ge=0, le=1, description="Probability of dark window tint (else light glass)."
    )
    yellow_plate: float = Field(0.3, ge=0, le=1, description="Probability of a yellow plate (else white).")
    coloured_wheels: float = Field(0.3, ge=0, le=1, description="Probability of non-silver wheel rims.")
    sunroof: float = Field(0.15, ge=0, le=1, description="Probability of a dark sunroof panel.")


class TrafficConfig(_Strict):
    spawn_rate_hz: float = Field(
        0.08, gt=0, description="Mean vehicle arrivals per second at each entry road."
    )
    desired_speed_mps: tuple[float, float] = Field(
        (9.0, 16.0), description="Range of free-flow desired speeds (m/s); heavy vehicles drive at 85 %."
    )
    max_accel_mps2: float = Field(1.8, gt=0, description="IDM maximum acceleration (m/s^2).")
    comfort_decel_mps2: float = Field(2.5, gt=0, description="IDM comfortable deceleration (m/s^2).")
    min_gap_m: float = Field(2.5, gt=0, description="IDM standstill gap to the vehicle ahead (m).")
    time_headway_s: float = Field(1.4, gt=0, description="IDM desired time headway (s).")
    turn_speed_mps: float = Field(
        6.0, gt=0, description="Speed limit while turning inside an intersection (m/s)."
    )
    warmup_s: float = Field(
        45.0, ge=0, description="Simulated time before the first frame, so roads start populated (s)."
    )
    type_mix: dict[str, float] = Field(
        {"sedan": 0.46, "suv": 0.26, "van": 0.12, "truck": 0.09, "bus": 0.07},
        description="Relative frequency of each vehicle type.",
    )
    palette: tuple[PaintColour, ...] = Field(
        DEFAULT_PALETTE, description="Paint colours and their frequencies."
    )
    details: DetailConfig = Field(DetailConfig(), description="Identity detail probabilities.")
    lookalike_fraction: float = Field(
        0.0, ge=0, le=1, description="Fraction of vehicles that copy an earlier vehicle's type and colour."
    )

    @field_validator("type_mix")
    @classmethod
    def _known_types(cls, mix: dict[str, float]) -> dict[str, float]:
        unknown = set(mix) - set(VEHICLE_TYPES)
        if unknown or not mix or min(mix.values()) < 0 or sum(mix.values()) <= 0:
            raise ValueError(f"type_mix needs non-negative weights over {VEHICLE_TYPES}; got {mix}")
        return mix

    @field_validator("desired_speed_mps")
    @classmethod
    def _speed_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1] <= 40:
            raise ValueError(f"desired_speed_mps must be (low, high) with 0 < low <= high <= 40 m/s; got {v}")
        return v


class SceneryConfig(_Strict):
    trees_per_100m: float = Field(2.0, ge=0, description="Trees per 100 m of road edge, on the verges.")
    shrubs_per_100m: float = Field(3.0, ge=0, description="Shrubs per 100 m of road edge, on the verges.")
    streetlights_per_100m: float = Field(
        2.0, ge=0, description="Street lights per 100 m of road (lit at night)."
    )


class LightingConfig(_Strict):
    sun_azimuth_deg: float = Field(135.0, description="Sun direction, counter-clockwise from +x (deg).")
    sun_elevation_deg: float = Field(45.0, ge=0, le=90, description="Sun height above the horizon (deg).")
    ambient: float = Field(0.55, ge=0, le=2, description="Ambient light level (1 = full).")
    diffuse: float = Field(0.55, ge=0, le=2, description="Directional sunlight level (1 = full).")
    white_balance: tuple[float, float, float] = Field(
        (1.0, 1.0, 1.0), description="Per-channel gains (B, G, R) of the camera's white balance."
    )
    exposure: float = Field(1.0, gt=0, le=4, description="Overall brightness gain.")


class SensorConfig(_Strict):
    noise_sigma: float = Field(
        3.0, ge=0, le=50, description="Std of additive Gaussian sensor noise (grey levels)."
    )
    blur_sigma: float = Field(0.7, ge=0, le=5, description="Std of the Gaussian optical blur (pixels).")


class CameraConfig(_Strict):
    name: str = Field(
        pattern=r"^cam\d{2}$", description="Camera name, camNN; camera_id in the ground truth is NN."
    )
    position_m: tuple[float, float, float] = Field(
        description="Camera centre (x, y, height) in world metres."
    )
    look_at_m: tuple[float, float] = Field(description="Ground point (x, y) at the image centre (m).")
    hfov_deg: float = Field(60.0, gt=10, lt=150, description="Horizontal field of view (deg).")
    white_balance: tuple[float, float, float] | None = Field(
        None, description="This camera's white-balance gains (B, G, R); default: the scene lighting's."
    )
    exposure: float | None = Field(
        None, gt=0, le=4, description="This camera's exposure gain; default: the scene's."
    )
    sensor: SensorConfig | None = Field(None, description="This camera's sensor model; default: the scene's.")

    @model_validator(mode="after")
    def _above_ground(self) -> CameraConfig:
        if self.position_m[2] <= 1.0:
            raise ValueError(f"{self.name}: camera height must be > 1 m, got {self.position_m[2]}")
        return self

    @property
    def camera_id(self) -> int:
        return int(self.name[3:])


class OutputConfig(_Strict):
    gt_min_visibility: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A box enters the ground truth when this fraction of the vehicle is visible.",
    )
    gt_min_height_px: int = Field(12, ge=1, description="...and its visible box is at least this tall (px).")
    masks: bool = Field(True, description="Write per-frame instance masks (uint16 PNG, pixel = vehicle id).")
    reid_every_frames: int = Field(
        5, ge=1, description="Re-ID crops: sample each vehicle every N frames per camera."
    )
    reid_min_visibility: float = Field(0.6, ge=0, le=1, description="Re-ID crops: minimum visible fraction.")
    reid_min_height_px: int = Field(28, ge=8, description="Re-ID crops: minimum visible box height (px).")
    reid_train_fraction: float = Field(
        0.5, gt=0, lt=1, description="Fraction of identities in image_train (the rest: query/gallery)."
    )
    yolo_every_frames: int = Field(5, ge=1, description="Detector set: keep every N-th frame of each camera.")
    yolo_val_fraction: float = Field(
        0.2, ge=0, lt=1, description="Detector set: last fraction of time kept for val."
    )
    yolo_classes: Literal["vehicle", "type"] = Field(
        "vehicle", description="Detector classes: one 'vehicle' class, or one class per vehicle type."
    )
    video_fourcc: str = Field("mp4v", min_length=4, max_length=4, description="FourCC of the camera videos.")


class SceneConfig(_Strict):
    preset: str = Field("default", description="Name of the preset this configuration came from.")
    seed: int = Field(0, ge=0, description="Seed of every random choice; same seed + config = same scene.")
    duration_s: float = Field(60.0, gt=0, le=3600, description="Length of the recording (s).")
    fps: float = Field(10.0, ge=1, le=60, description="Frame rate of every camera (frames/s).")
    image_size: tuple[int, int] = Field(
        (640, 360), description="Width and height of every camera image (px)."
    )
    night: bool = Field(False, description="Night: low light, headlights with glare, lit street lights.")
    roads: RoadConfig = Field(RoadConfig(), description="The road grid.")
    signals: SignalConfig = Field(SignalConfig(), description="Signal timing at every crossing.")
    traffic: TrafficConfig = Field(TrafficConfig(), description="Arrivals, driving behaviour and the fleet.")
    scenery: SceneryConfig = Field(SceneryConfig(), description="Trees, shrubs and street lights.")
    lighting: LightingConfig = Field(LightingConfig(), description="The scene's light.")
    sensor: SensorConfig = Field(SensorConfig(), description="Default sensor model of the cameras.")
    cameras: tuple[CameraConfig, ...] = Field(description="The cameras; at least one.")
    output: OutputConfig = Field(OutputConfig(), description="What is written and the ground-truth rules.")

    @model_validator(mode="after")
    def _cameras_unique(self) -> SceneConfig:
        names = [c.name for c in self.cameras]
        if not names:
            raise ValueError("a scene needs at least one camera")
        if len(set(names)) != len(names):
            raise ValueError(f"camera names must be unique; got {names}")
        w, h = self.image_size
        if w < 64 or h < 64:
            raise ValueError(f"image_size must be at least 64x64 px; got {w}x{h}")
        return self

    @property
    def n_frames(self) -> int:
        return round(self.duration_s * self.fps)

    def camera_lighting(self, cam: CameraConfig) -> LightingConfig:
        """The scene's light as this camera records it: its own white balance and exposure."""
        update = {"white_balance": cam.white_balance, "exposure": cam.exposure}
        return self.lighting.model_copy(update={k: v for k, v in update.items() if v is not None})

    def camera_sensor(self, cam: CameraConfig) -> SensorConfig:
        return cam.sensor or self.sensor


# ----------------------------------------------------------------------------------------------- loading


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; pass the path of a scene YAML file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, got {type(data).__name__}")
    return data


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve(data: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Follow ``base:`` links between preset files, the child's keys winning."""
    base = data.pop("base", None)
    if base is None:
        return data
    if base in seen:
        raise ConfigError(f"preset inheritance loops through {base!r}")
    return _deep_merge(_resolve(_read_yaml(_preset_path(base)), (*seen, base)), data)


def _preset_path(name: str) -> Path:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(available_presets())}")
    return path


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'traffic.spawn_rate_hz=0.1'`` -> (['traffic', 'spawn_rate_hz'], 0.1); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"override {text!r} must look like dotted.key=value, e.g. traffic.spawn_rate_hz=0.1"
        )
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
    return key.strip().split("."), value


def _apply_override(data: dict[str, Any], path: list[str], value: Any) -> None:
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, part, path[: i + 1])]
        else:
            node = node.setdefault(part, {})
    last = path[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    else:
        node[last] = value


def _list_index(items: list[Any], part: str, path: list[str]) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(f"override {'.'.join(path)}: {part!r} is not an index below {len(items)}")
    return int(part)


SMOKE_OVERRIDES: dict[str, Any] = {
    "duration_s": 4.0,
    "traffic": {"warmup_s": 25.0},
    "output": {"reid_every_frames": 4, "yolo_every_frames": 4},
}


def load_scene_config(
    preset: str = "default",
    config_file: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    smoke: bool = False,
) -> SceneConfig:
    """Preset, then the YAML file, then ``--smoke`` sizes, then dotted overrides, then the seed."""
    data = _resolve(_read_yaml(_preset_path(preset)))
    data["preset"] = preset
    if config_file is not None:
        data = _deep_merge(data, _resolve(_read_yaml(Path(config_file))))
    if smoke:
        data = _deep_merge(data, SMOKE_OVERRIDES)
    for text in overrides:
        _apply_override(data, *parse_override(text))
    if seed is not None:
        data["seed"] = seed
    try:
        return SceneConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid scene configuration: {problems}") from None
