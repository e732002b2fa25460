"""Matplotlib figures the CLI saves next to its metrics (headless backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_history", "plot_goodness_histograms"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: list[dict], path: Path) -> Path:
    """Validation accuracy and per-layer FF loss per epoch."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in history]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    # every measurement any epoch made; an epoch without it (e.g. an on-chip run resumed from a
    # state that logged other keys) plots as a gap
    keys = sorted({k for r in history for k in r if k.startswith("val_")})
    for key in keys:
        values = [np.nan if r.get(key) is None else 100 * r[key] for r in history]
        ax_acc.plot(epochs, values, marker="o", label=key[4:])
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    ax_acc.legend()
    # None (a layer that did not learn that epoch) plots as a gap
    losses = np.array([r.get("layer_loss", []) for r in history], dtype=float)
    if losses.size == 0:  # on-chip training logs no loss: say so instead of an empty plot
        ax_loss.text(0.5, 0.5, "no FF loss logged\n(on-chip rule)", ha="center", va="center")
        losses = np.zeros((len(history), 0))
    for layer in range(losses.shape[1]):
        ax_loss.plot(epochs, losses[:, layer], marker="o", label=f"layer {layer + 1}")
    ax_loss.set(xlabel="epoch", ylabel="FF loss", title="per-layer FF loss")
    if losses.shape[1]:
        ax_loss.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_goodness_histograms(g_pos: list[np.ndarray], g_neg: list[np.ndarray], theta: float,
                             path: Path) -> Path:
    """Per-layer goodness of positive vs negative data, with the threshold."""
    plt = _pyplot()
    layers = len(g_pos)
    fig, axes = plt.subplots(1, layers, figsize=(5 * layers, 3.6), squeeze=False)
    for i, ax in enumerate(axes[0]):
        hi = max(float(np.max(g_pos[i], initial=0)), float(np.max(g_neg[i], initial=0)), theta) * 1.05
        bins = np.linspace(0, hi, 40)
        ax.hist(g_pos[i], bins=bins, alpha=0.6, label="positive")
        ax.hist(g_neg[i], bins=bins, alpha=0.6, label="negative")
        ax.axvline(theta, color="k", linestyle="--", label="θ")
        ax.set(title=f"layer {i + 1}", xlabel="goodness", ylabel="samples")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
