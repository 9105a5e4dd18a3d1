"""The segmentation network: a small U-Net sized for CPU throughput.

Plain PyTorch (no segmentation-models-pytorch: its torchvision import fails beside the CPU torch).
Input is ``[n, layers, h, w]`` float32, the card's layers already normalized (zero mean, unit std)
and free of NaN; output is ``[n, classes, h, w]`` logits. ``h`` and ``w`` must be multiples of
:attr:`SlickNet.size_multiple` (the product of the pooling factors); the predictor pads to it.

The one fixed normalization beyond per-layer mean/std lives inside the module so that TorchScript
carries it: a local-contrast channel per layer, the layer minus its local mean over a
``(2 * local_contrast_px + 1)`` square. It makes the network see a slick as "darker than the sea
around it" whatever the wind, the incidence angle or the calibration offset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ARCHITECTURE = "slickwatch-unet"
"""Name of this architecture on model cards; the predictor rebuilds it from ``card.network``."""


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of a :class:`SlickNet`; stored on the model card so the network can be rebuilt."""

    in_layers: int = 1
    """Input layers (the card's ``layers``)."""
    classes: int = 4
    """Output classes (the card's ``classes``)."""
    widths: tuple[int, ...] = (16, 32, 48, 64)
    """Channels per level, finest first; ``len(widths) - 1`` poolings by 2."""
    local_contrast_px: int = 0
    """Radius in pixels of the local mean subtracted for the contrast channels; 0 disables them."""
    stem: int = 1
    """Space-to-depth factor of the first step: 2 folds each 2 x 2 block of pixels into channels
    (``PixelUnshuffle``) and the head unfolds them again (``PixelShuffle``), so the finest level
    runs at half resolution with 4x the channels: lossless, and much cheaper on a CPU."""
    refine: int = 0
    """Channels of a full-resolution refinement after the U-Net: its unfolded features beside the
    input layers, one 3 x 3 convolution, then the classes (sharper edges with a stem); 0: none."""

    def as_dict(self) -> dict[str, object]:
        """The config as plain JSON-ready values."""
        data = asdict(self)
        data["widths"] = list(self.widths)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> NetworkConfig:
        """Inverse of :meth:`as_dict`."""
        values = dict(data)
        values["widths"] = tuple(values.get("widths", cls.widths))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class LocalContrast(nn.Module):
    """Append ``x - local_mean(x)`` to ``x``, channel by channel (zero padding at the edges)."""

    def __init__(self, radius: int) -> None:
        super().__init__()
        self.radius = radius

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.radius <= 0:
            return x
        k = 2 * self.radius + 1
        # count_include_pad=False: near the edges average only over real pixels
        mean = F.avg_pool2d(x, k, stride=1, padding=self.radius, count_include_pad=False)
        return torch.cat([x, x - mean], dim=1)


class SlickNet(nn.Module):
    """U-Net: ``len(widths)`` levels, max-pool down, transposed-conv up, skip connections."""

    def __init__(self, config: NetworkConfig | None = None) -> None:
        super().__init__()
        self.config = config or NetworkConfig()
        cfg = self.config
        self.size_multiple = cfg.stem * 2 ** (len(cfg.widths) - 1)
        self.contrast = LocalContrast(cfg.local_contrast_px)
        c_in = cfg.in_layers * (2 if cfg.local_contrast_px > 0 else 1) * cfg.stem**2
        self.unfold = nn.PixelUnshuffle(cfg.stem)
        self.fold = nn.PixelShuffle(cfg.stem)
        self.down = nn.ModuleList()
        for width in cfg.widths:
            self.down.append(_double_conv(c_in, width))
            c_in = width
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for width in reversed(cfg.widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c_in, width, 2, stride=2))
            self.merge.append(_double_conv(2 * width, width))
            c_in = width
        self.use_refine = cfg.refine > 0
        out = cfg.refine if self.use_refine else cfg.classes
        self.head = nn.Conv2d(c_in, out * cfg.stem**2, 1)
        self.refine: nn.Module = (
            nn.Sequential(
                nn.Conv2d(cfg.refine + cfg.in_layers, cfg.refine, 3, padding=1, bias=False),
                nn.BatchNorm2d(cfg.refine),
                nn.ReLU(inplace=True),
                nn.Conv2d(cfg.refine, cfg.classes, 1),
            )
            if self.use_refine
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = x
        x = self.unfold(self.contrast(x))
        skips: list[torch.Tensor] = []
        n_levels = len(self.down)
        for i, block in enumerate(self.down):
            x = block(x)
            if i < n_levels - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, merge in zip(self.up, self.merge, strict=True):
            # Written so that inference holds as little as it can: each skip is let go once it is
            # concatenated, and the concatenation once the merge's first layer has read it (a
            # Sequential called on it would keep its input alive to the end); on a 2048² block
            # that is about 40 % less peak memory, for the same outputs.
            x = torch.cat([skips.pop(), up(x)], dim=1)
            for layer in merge:
                x = layer(x)
        y = self.fold(self.head(x))
        if self.use_refine:
            y = self.refine(torch.cat([y, layers], dim=1))
        return y


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """``module`` (in eval mode) with every ``Conv2d`` -> ``BatchNorm2d`` pair of its
    ``nn.Sequential`` blocks folded into one convolution (torch's ``fuse_conv_bn_eval``), in
    place: the same outputs up to float rounding, without the normalization passes (~10 % of a
    block's CPU time for this network). For inference only: the folded network cannot train."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if module.training:
        raise ValueError("fold_batch_norms needs a module in eval mode")
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(conv, bn)
                seq[i + 1] = nn.Identity()
    return module


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def flops_per_pixel(module: nn.Module, *, in_layers: int, size: int = 64) -> float:
    """Multiply-adds times two per input pixel, counted over the convolutions of one forward pass.

    Counted with forward hooks on ``Conv2d`` and ``ConvTranspose2d`` (the rest is a few percent).
    """
    total = 0

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.ConvTranspose2d):
            # every input pixel meets every kernel weight once
            k = mod.kernel_size[0] * mod.kernel_size[1]
            total += (
                inputs[0].shape[2] * inputs[0].shape[3] * mod.in_channels * mod.out_channels * k
            )
        else:
            k = mod.kernel_size[0] * mod.kernel_size[1]
            per_out = (mod.in_channels // mod.groups) * k
            total += output.shape[2] * output.shape[3] * mod.out_channels * per_out

    handles = [
        m.register_forward_hook(hook)
        for m in module.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]
    try:
        with torch.no_grad():
            module.eval()(torch.zeros(1, in_layers, size, size))
    finally:
        for h in handles:
            h.remove()
    return 2.0 * total / (size * size)


def measure_receptive_field(
    module: nn.Module, *, in_layers: int, size: int = 96, multiple: int = 8, trials: int = 2
) -> int:
    """Smallest radius ``r`` (pixels) such that an output pixel depends only on inputs within ``r``.

    Measured, not derived: for every offset of the centre pixel modulo ``multiple`` (the pooling
    grid) the inputs farther than ``r`` (Chebyshev distance) are replaced by other random values
    and the centre's output must stay the same (float64, so rounding cannot hide a dependence).
    This is the halo a block needs, when it starts on the pooling grid, for its interior to equal
    a whole-image run. ``size`` is the probe image's edge; it doubles until the radius fits.
    """
    while True:
        radius = _measure(module, in_layers=in_layers, size=size, multiple=multiple, trials=trials)
        if radius < size // 2 - multiple:
            return radius
        size *= 2


def _measure(module: nn.Module, *, in_layers: int, size: int, multiple: int, trials: int) -> int:
    net = _float64_copy(module)
    rng = np.random.default_rng(0)
    worst = 0
    with torch.no_grad():
        for offset in range(multiple):
            c = size // 2 + offset - multiple // 2
            base = torch.from_numpy(rng.standard_normal((1, in_layers, size, size)))
            ref = net(base)[0, :, c, c]
            low, high = 0, size // 2 - multiple
            while low < high:  # binary search on the radius; dependence is monotone in r
                r = (low + high) // 2
                if _centre_unchanged(net, base, ref, c, r, rng, trials):
                    high = r
                else:
                    low = r + 1
            worst = max(worst, low)
    return worst


def _float64_copy(module: nn.Module) -> nn.Module:
    import copy

    net = copy.deepcopy(module).double().eval()
    return net


def _centre_unchanged(
    net: nn.Module,
    base: torch.Tensor,
    ref: torch.Tensor,
    c: int,
    r: int,
    rng: np.random.Generator,
    trials: int,
) -> bool:
    size = base.shape[-1]
    yy, xx = np.mgrid[0:size, 0:size]
    outside = torch.from_numpy(np.maximum(abs(yy - c), abs(xx - c)) > r)
    for _ in range(trials):
        noise = torch.from_numpy(rng.standard_normal(base.shape) * 3.0)
        probe = torch.where(outside, noise, base)
        if not torch.allclose(net(probe)[0, :, c, c], ref, rtol=0, atol=1e-12):
            return False
    return True
