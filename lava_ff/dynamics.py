"""CUBA LIF dynamics for the CPU training path: slayer's numbers, faster.

lava-dl slayer integrates a CUBA neuron with one compiled CUDA kernel, and on
a CPU with ``_LIDynamics``: a Python loop over time steps that indexes the
last (time) axis of ``[batch, neurons, time]`` tensors, converts types on
every step and, in the backward pass, computes the gradient of the decay
constants even when they are fixed. In offline FF training that loop took
about two thirds of the CPU time (profile of a 784-1000 layer with the
all-labels loss, 1000 rows per batch).

:func:`cuba_dynamics` integrates the same equations with the same integer
arithmetic (states in units of ``1 / s_scale``, decays out of 4096, products
right-shifted by 12 toward zero, reset to zero at the threshold), time-major
and contiguous, and backpropagates like ``_LIDynamics`` (the gradient of
``y[t] = (1 - a) y[t-1] + x[t]`` without the reset) except that it skips
the decay gradient. Outputs are bit-identical to slayer's and gradients
equal (tests compare both); the spike function stays slayer's.
"""

from __future__ import annotations

import torch

from .config import LOIHI2

__all__ = ["cuba_dynamics", "leaky_integrator"]

DECAY_SHIFT = LOIHI2.decay_bits  # slayer's (and Loihi's) decays are integers out of 1 << 12


class _LeakyIntegrator(torch.autograd.Function):
    """``y[t] = trunc((4096 - d) y[t-1] / 4096) + x[t]`` on integers scaled by
    ``w_scale``; with a threshold, ``y`` restarts from 0 after reaching it.
    Time-major: ``x`` and ``y`` are ``[T, ...]``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, decay: int, w_scale: int, threshold: float | None):
        # (w_scale * x).to(int64) as slayer does it: truncation toward zero;
        # integers then held in float64: exact below 2**53, far above the
        # 24-bit states times 12-bit decays, and vectorised where int64
        # division is not
        scaled = (w_scale * x).trunc_().to(torch.float64, memory_format=torch.contiguous_format)
        out = torch.empty_like(scaled)
        state = torch.zeros_like(scaled[0])
        keep = ((1 << DECAY_SHIFT) - decay) / (1 << DECAY_SHIFT)  # exact in binary
        limit = None if threshold is None else threshold * w_scale
        for t in range(scaled.shape[0]):
            torch.mul(state, keep, out=out[t]).trunc_().add_(scaled[t])
            state = out[t] if limit is None else out[t].masked_fill(out[t] >= limit, 0)
        ctx.keep = keep  # the backward pass decays by the same factor, without the reset
        return out.div_(w_scale).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        grad = grad_out.clone(memory_format=torch.contiguous_format)
        for t in range(grad.shape[0] - 2, -1, -1):
            grad[t].add_(grad[t + 1], alpha=ctx.keep)
        return grad, None, None, None


def leaky_integrator(x: torch.Tensor, decay: int, w_scale: int, threshold: float | None = None) -> torch.Tensor:
    """slayer's ``leaky_integrator.dynamics`` from a zero state, time-major:
    ``x`` ``[T, ...]`` (contiguous is fastest), ``decay`` an integer in
    ``[0, 4096]``, ``threshold`` the reset level (``None``: no reset)."""
    if x.ndim < 2:
        raise ValueError(f"expected [time, ...], got shape {tuple(x.shape)}")
    if not 0 <= decay <= 1 << DECAY_SHIFT:
        raise ValueError(f"decay must be an integer in [0, {1 << DECAY_SHIFT}], got {decay}")
    return _LeakyIntegrator.apply(x, int(decay), int(w_scale), threshold)


def cuba_dynamics(neuron, current_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(current, voltage)`` of a slayer ``cuba.Neuron`` (shared decays, no
    persistent state, no norm) driven by ``current_in`` ``[B, N, T]``: what
    ``neuron.dynamics(current_in)`` returns, computed by :func:`leaky_integrator`.
    Both are ``[B, N, T]`` views of time-major memory, so a ``current_in``
    that is one (``x.permute(1, 2, 0)`` of a contiguous ``[T, B, N]``) is
    read without a copy."""
    from lava.lib.dl.slayer.utils import quantize

    if neuron.persistent_state or neuron.norm is not None or neuron.current_decay.numel() != 1:
        raise ValueError("cuba_dynamics covers neurons with shared decays, no persistent state and no norm")
    current_decay = int(quantize(neuron.current_decay).item())
    voltage_decay = int(quantize(neuron.voltage_decay).item())
    current = leaky_integrator(current_in.permute(2, 0, 1), current_decay, neuron.s_scale)
    voltage = leaky_integrator(current, voltage_decay, neuron.s_scale, neuron.threshold + neuron.threshold_eps)
    return current.permute(1, 2, 0), voltage.permute(1, 2, 0)
