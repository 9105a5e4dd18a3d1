"""The model card: what a model expects, what it returns, how it was made and how well it does.

Stored as ``card.json`` beside the weights. Every consumer reads the model through its card: the
predictor (inputs, tile size, receptive field, output kind), the pipeline (thresholds, resolution,
layers to prepare) and the registry (the ``model`` row). A foreign TorchScript model (Cerulean's,
say) is usable once it has a card that describes its inputs.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from model.errors import InvalidModelCard, ModelFileMissing, ModelHashMismatch

CARD_FILE = "card.json"
"""File name of the card inside a model folder."""

DEFAULT_CLASSES: dict[int, str] = {0: "BACKGROUND", 1: "INFRA", 2: "NATURAL", 3: "VESSEL"}
"""Cerulean's class map; the short names match the database's ``slick_class`` names."""

BACKGROUND = "BACKGROUND"
"""Name of the no-slick class; every other class is a kind of oil."""

CUDA_UNTESTED = "untested on CUDA: the CUDA path (move + autocast) has not been run on a GPU yet"
"""The card's ``cuda`` line until the predictor has been run on a CUDA device."""


class LayerNorm(BaseModel):
    """Fixed normalization of one input layer: ``(value - mean) / std``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean: float
    """Mean of the layer in its own unit (dB for ``*_DB`` layers)."""
    std: float = Field(gt=0)
    """Standard deviation in the same unit."""


class Thresholds(BaseModel):
    """How probabilities become slick pixels: hysteresis on P(any oil) = 1 - P(background)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: float = Field(gt=0, lt=1)
    """A slick must contain at least one pixel with P(oil) >= seed."""
    grow: float = Field(gt=0, lt=1)
    """A slick extends over the connected pixels with P(oil) >= grow."""
    min_area_px: int = Field(ge=1)
    """Slicks smaller than this many working pixels are dropped."""

    @field_validator("grow")
    @classmethod
    def _grow_below_seed(cls, grow: float, info: Any) -> float:
        seed = info.data.get("seed")
        if seed is not None and grow > seed:
            raise ValueError(f"grow ({grow}) must not exceed seed ({seed})")
        return grow


class ModelCard(BaseModel):
    """Everything needed to use a segmentation model and to judge it."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), validate_assignment=True)

    name: str
    """Model name (the registry key together with ``version``)."""
    version: str
    """Model version."""
    architecture: str
    """``slickwatch-unet`` (rebuilt from ``network`` and ``weights_file``) or any other name (loaded
    from ``torchscript_file`` only)."""
    network: dict[str, Any] = Field(default_factory=dict)
    """Constructor arguments of the architecture (``NetworkConfig.as_dict()`` for ours)."""
    layers: list[str]
    """Input layers in order, e.g. ``["VV_DB"]``; ``VV_DB`` = 10·log10(sigma0 VV)."""
    normalization: dict[str, LayerNorm]
    """Per-layer ``mean`` and ``std`` (dB for ``*_DB`` layers)."""
    classes: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_CLASSES))
    """Output channel -> class name; channel 0 must be ``BACKGROUND``."""
    outputs: Literal["logits", "probabilities"] = "logits"
    """What the network returns per class; logits go through a softmax in the predictor."""
    thresholds: Thresholds
    """Hysteresis thresholds and minimum area."""
    resolution_m: float = 80.0
    """Working resolution in metres per pixel."""
    tile_size: int = Field(ge=16)
    """Edge in pixels of the square tiles the predictor runs the network on."""
    size_multiple: int = Field(default=8, ge=1)
    """Tile edges and block origins must be multiples of this (the network's pooling grid)."""
    receptive_field_px: int = Field(ge=0)
    """The halo a block needs so that its interior equals a whole-image run (measured)."""
    params: int | None = None
    """Trainable parameters."""
    flops_per_pixel: float | None = None
    """Floating point operations per input pixel, one forward pass (2 × multiply-adds)."""
    metrics: dict[str, Any] = Field(default_factory=dict)
    """Held-out metrics (simulated test set)."""
    real_scene: dict[str, Any] = Field(default_factory=dict)
    """What the model does on the real scene in ``../shared/data/real``."""
    training: dict[str, Any] = Field(default_factory=dict)
    """Training data, command, seed, duration, machine."""
    weights_file: str | None = None
    """State dict file, relative to the card's folder."""
    weights_sha256: str | None = None
    """SHA-256 of ``weights_file``."""
    torchscript_file: str | None = None
    """TorchScript file, relative to the card's folder."""
    torchscript_sha256: str | None = None
    """SHA-256 of ``torchscript_file``."""
    cuda: str = CUDA_UNTESTED
    """Whether the CUDA path has been exercised, and where."""
    comparison: dict[str, str] = Field(default_factory=dict)
    """Published figures of other models, for context."""

    _location: Path | None = PrivateAttr(default=None)

    @field_validator("classes")
    @classmethod
    def _background_first(cls, classes: dict[int, str]) -> dict[int, str]:
        if classes.get(0) != BACKGROUND:
            raise ValueError(f"channel 0 must be {BACKGROUND!r}, got {classes.get(0)!r}")
        if sorted(classes) != list(range(len(classes))):
            raise ValueError(f"class channels must be 0..{len(classes) - 1}, got {sorted(classes)}")
        return classes

    @field_validator("metrics", "real_scene", "training")
    @classmethod
    def _as_json_reads_it(cls, value: Any) -> Any:
        """Values as JSON gives them back (an undefined score, NaN, is ``None``; tuples are lists),
        so that a card equals itself read back."""
        if isinstance(value, dict):
            return {k: cls._as_json_reads_it(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [cls._as_json_reads_it(v) for v in value]
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    @field_validator("normalization")
    @classmethod
    def _norm_known(cls, norm: dict[str, LayerNorm], info: Any) -> dict[str, LayerNorm]:
        layers = info.data.get("layers") or []
        missing = [layer for layer in layers if layer not in norm]
        if missing:
            raise ValueError(f"normalization lacks layers {missing}: give mean and std for each")
        return norm

    @property
    def location(self) -> Path | None:
        """Folder the card was loaded from (file names on the card are relative to it)."""
        return self._location

    @property
    def oil_classes(self) -> dict[int, str]:
        """Every class but background."""
        return {k: v for k, v in self.classes.items() if v != BACKGROUND}

    def path_of(self, file_name: str | None) -> Path | None:
        """Absolute path of a file named on the card, or ``None`` when it is not named."""
        if file_name is None:
            return None
        path = Path(file_name)
        if not path.is_absolute():
            if self._location is None:
                raise ModelFileMissing(
                    f"{file_name!r} is relative but the card has no folder: load the card with "
                    "ModelCard.load(path) or give absolute file names."
                )
            path = self._location / path
        return path

    def artifact(self) -> tuple[Path, str]:
        """The file the predictor loads and its recorded SHA-256.

        The state dict for our architecture, else the TorchScript file.
        """
        use_weights = self.architecture == _ours() and self.weights_file is not None
        name, digest = (
            (self.weights_file, self.weights_sha256)
            if use_weights
            else (self.torchscript_file, self.torchscript_sha256)
        )
        path = self.path_of(name)
        if path is None:
            raise ModelFileMissing(
                f"card {self.name}:{self.version} names no weights file: set 'weights_file' "
                f"(architecture {_ours()}) or 'torchscript_file'."
            )
        if not path.is_file():
            raise ModelFileMissing(f"model file {path} is missing: retrain, or restore the file.")
        return path, digest or sha256_file(path)

    def verify(self) -> None:
        """Check every file named on the card exists and matches its recorded SHA-256."""
        for name, digest in (
            (self.weights_file, self.weights_sha256),
            (self.torchscript_file, self.torchscript_sha256),
        ):
            path = self.path_of(name)
            if path is None:
                continue
            if not path.is_file():
                raise ModelFileMissing(
                    f"model file {path} is missing: retrain, or restore the file."
                )
            if digest is not None and sha256_file(path) != digest:
                raise ModelHashMismatch(
                    f"{path} does not match the SHA-256 on its card: the file changed after the "
                    "card was written; run 'slickwatch model card --rehash' to rewrite the card, "
                    "or restore it."
                )

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        """Read a card from ``card.json`` or from a folder holding one."""
        path = Path(path)
        if path.is_dir():
            path = path / CARD_FILE
        if not path.is_file():
            raise ModelFileMissing(f"no model card at {path}: give a card.json or its folder.")
        try:
            card = cls.model_validate_json(path.read_text())
        except ValidationError as exc:
            raise InvalidModelCard(f"{path} is not a valid model card: {exc}") from exc
        card._location = path.resolve().parent
        return card

    def save(self, path: str | Path) -> Path:
        """Write the card as JSON (atomically: temp file, then rename); returns the file path."""
        path = Path(path)
        if path.is_dir():
            path = path / CARD_FILE
        text = json.dumps(self.model_dump(mode="json"), indent=2) + "\n"
        write_atomic(path, text.encode())
        self._location = path.resolve().parent
        return path


def _ours() -> str:
    from model.network import ARCHITECTURE

    return ARCHITECTURE


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path`` and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
