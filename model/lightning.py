"""The LightningModule: the network, its loss, its optimizer and its validation scores.

Loss for thin, rare classes: class-weighted cross-entropy (weights from the training chips' class
frequencies, ``freq ** -0.5`` normalized, so background is not drowned out entirely) plus a soft
Dice loss on P(any oil), which does not care how rare oil pixels are.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from torch.nn import functional as F

from model.data import IGNORE
from model.network import NetworkConfig, SlickNet


def class_weights(
    frequencies: Sequence[float], *, power: float = 0.5, cap: float = 50.0
) -> list[float]:
    """Cross-entropy weights ``freq ** -power``, background = 1, capped at ``cap``."""
    freq = np.maximum(np.asarray(frequencies, dtype=np.float64), 1e-6)
    w = (freq / freq[0]) ** -power
    return [float(v) for v in np.minimum(w, cap)]


def oil_dice_loss(logits: torch.Tensor, target: torch.Tensor, *, eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice of P(any oil) against the oil mask, over the pixels that count."""
    probs = torch.softmax(logits, dim=1)
    p_oil = 1.0 - probs[:, 0]
    keep = target != IGNORE
    t_oil = ((target > 0) & keep).float()
    p_oil = p_oil * keep.float()
    inter = (p_oil * t_oil).sum()
    return 1.0 - (2 * inter + eps) / (p_oil.sum() + t_oil.sum() + eps)


class SlickSegmenter(L.LightningModule):
    """U-Net segmenter of oil slicks in 4 classes (background, INFRA, NATURAL, VESSEL).

    Args:
        network: :class:`NetworkConfig` as a dict.
        class_weights: cross-entropy weight per class.
        lr: peak learning rate of the one-cycle schedule (AdamW).
        weight_decay: AdamW weight decay.
        dice_weight: weight of the oil Dice loss beside the cross-entropy.
    """

    def __init__(
        self,
        *,
        network: dict | None = None,
        class_weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        dice_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = SlickNet(NetworkConfig.from_dict(network or {}))
        self.register_buffer("ce_weights", torch.tensor(list(class_weights), dtype=torch.float32))
        self._val_counts = torch.zeros(3, dtype=torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def loss(
        self, logits: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Total, cross-entropy and Dice losses of a batch."""
        ce = F.cross_entropy(logits, y, weight=self.ce_weights, ignore_index=IGNORE)
        dice = oil_dice_loss(logits, y)
        return ce + self.hparams.dice_weight * dice, ce, dice

    def on_train_epoch_start(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        dataset = getattr(dm, "train_set", None)
        if dataset is not None and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.current_epoch)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        total, ce, dice = self.loss(self(x), y)
        self.log("train_loss", total, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(x))
        self.log("train_ce", ce, on_step=False, on_epoch=True, batch_size=len(x))
        self.log("train_dice", dice, on_step=False, on_epoch=True, batch_size=len(x))
        return total

    def on_validation_epoch_start(self) -> None:
        self._val_counts.zero_()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        total, _, _ = self.loss(logits, y)
        self.log("val_loss", total, prog_bar=True, on_epoch=True, batch_size=len(x))
        keep = y != IGNORE
        pred_oil = (torch.softmax(logits, 1)[:, 0] < 0.5) & keep
        true_oil = (y > 0) & keep
        self._val_counts += torch.tensor(
            [
                (pred_oil & true_oil).sum().item(),
                (pred_oil & ~true_oil).sum().item(),
                (~pred_oil & true_oil).sum().item(),
            ],
            dtype=torch.float64,
        )

    def on_validation_epoch_end(self) -> None:
        tp, fp, fn = self._val_counts.tolist()
        iou = tp / (tp + fp + fn) if tp + fp + fn else 0.0
        self.log("val_oil_iou", iou, prog_bar=True)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.hparams.lr, total_steps=total, pct_start=0.1
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
