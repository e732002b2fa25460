"""Matplotlib figures the CLI saves next to its metrics (headless backend).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_history", "plot_goodness_histograms", "plot_throughput"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path, title: str | None) -> Path:
    """``fig`` titled (where a title is given), laid out and written to ``path``, then closed."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _per_epoch(history: list[dict], key: str) -> np.ndarray:
    """``key``'s value in every epoch's record, NaN (a gap in a plot) where
    an epoch has none (e.g. an on-chip run resumed from a state that logged
    other keys)."""
    return np.array([np.nan if r.get(key) is None else r[key] for r in history], dtype=float)


def plot_history(history: list[dict], path: Path, title: str | None = None) -> Path:
    """Validation accuracy per epoch, and the per-layer FF loss (offline
    training) or the on-chip schedule (on-chip training, which logs no loss)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    # every measurement any epoch made
    keys = sorted({k for r in history for k in r if k.startswith("val_")})
    for key in keys:
        ax_acc.plot(epochs, 100 * _per_epoch(history, key), marker="o", label=key[4:])
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    ax_acc.legend()
    if any("layer_loss" in r for r in history):
        _plot_layer_losses(ax_loss, history, epochs)
    else:  # on-chip training logs no loss: its schedule instead, step size and time per pass
        _plot_onchip_schedule(ax_loss, history, epochs)
    for ax in (ax_acc, ax_loss):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    return _save(plt, fig, path, title)


def _plot_layer_losses(ax, history: list[dict], epochs: list) -> None:
    # None (a layer that did not learn that epoch) plots as a gap
    losses = np.array([r.get("layer_loss") or [] for r in history], dtype=float)
    for layer in range(losses.shape[1]):
        ax.plot(epochs, losses[:, layer], marker="o", label=f"layer {layer + 1}")
    ax.set(xlabel="epoch", ylabel="FF loss", title="per-layer FF loss")
    if losses.shape[1]:
        ax.legend()


def _plot_onchip_schedule(ax, history: list[dict], epochs: list) -> None:
    """The on-chip learning rate of every pass and, on a second axis, the
    minutes each pass took (``seconds`` is cumulative, resumed runs included)."""
    ax.plot(epochs, _per_epoch(history, "learning_rate"), marker="o", color="C0", label="learning rate")
    ax.set(xlabel="epoch", ylabel="on-chip learning rate", title="on-chip schedule")
    seconds = _per_epoch(history, "seconds")
    if not np.all(np.isnan(seconds)):
        minutes = np.diff(np.concatenate([[0.0], seconds])) / 60
        twin = ax.twinx()
        twin.plot(epochs, minutes, marker="s", color="C1", label="minutes per pass")
        twin.set_ylabel("minutes per pass")
        twin.set_ylim(bottom=0)
        ax.legend(handles=ax.get_lines() + twin.get_lines(), loc="lower left")  # rates fall: that corner stays clear
    ax.set_ylim(bottom=0)


def plot_goodness_histograms(g_pos: list[np.ndarray], g_neg: list[np.ndarray], theta: float,
                             path: Path, title: str | None = None) -> Path:
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
        ax.legend(fontsize=8)
    return _save(plt, fig, path, title)


def plot_throughput(curves: dict[str, tuple[list[int], list[float]]], path: Path,
                    references: dict[str, float] | None = None, title: str | None = None) -> Path:
    """Samples/s against batch size, one line per name in ``curves``
    (``(batches, rates)``), with each of ``references`` (name: samples/s) as a
    dashed horizontal line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (batches, rates) in curves.items():
        ax.plot(batches, rates, marker="o", label=name)
    for (name, rate), style in zip((references or {}).items(), ("--", ":", "-."), strict=False):
        ax.axhline(rate, linestyle=style, color="gray", label=f"{name}: {rate:.0f}/s")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("images side by side per window (batch)")
    ax.set_ylabel("samples / s")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path, title)
