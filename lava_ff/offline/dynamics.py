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
and contiguous, current and voltage in one loop, and backpropagates like
``_LIDynamics`` (the gradient of ``y[t] = (1 - a) y[t-1] + x[t]`` without
the reset) except that it skips the decay gradient. Outputs are
bit-identical to slayer's and gradients equal (tests compare both, where
lava-dl is installed).

:func:`spike` is slayer's spike function (``v >= threshold + eps``) with
slayer's surrogate gradient, and :func:`quantize_8bit` slayer's 8-bit weight
grid with a straight-through gradient: with them the offline path needs
torch only, not lava-dl.
"""

from __future__ import annotations

import torch

from lava_ff.core.loihi import LOIHI2
from lava_ff.core.neuron import NeuronParams
from lava_ff.offline.native import cuba_forward_native

__all__ = ['DECAY_SHIFT', 'SURROGATE_TAU', 'SURROGATE_SCALE', 'spike', 'quantize_8bit', 'cuba_integrate',
           'cuba_dynamics', 'cuba_voltage', 'cuba_spikes']


DECAY_SHIFT = LOIHI2.decay_bits  # slayer's (and Loihi's) decays are integers out of 1 << 12

#: slayer's surrogate spike gradient at its defaults (``tau_grad = scale_grad = 1``): a Laplace
#: kernel ``SCALE / 2 / tau * exp(-|v - level| / tau)`` of width ``tau = SURROGATE_TAU * threshold``
SURROGATE_TAU = 100.0
SURROGATE_SCALE = 0.1


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, voltage: torch.Tensor, level: float, tau: float, scale: float):
        ctx.save_for_backward(voltage)
        ctx.constants = level, tau, scale
        return (voltage >= level).to(voltage.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (voltage,) = ctx.saved_tensors
        # slayer's arithmetic, operation for operation, on tensors of the voltage's dtype
        level, tau, scale = (torch.tensor(c, dtype=voltage.dtype, device=voltage.device) for c in ctx.constants)
        return scale / 2 / tau * torch.exp(-torch.abs(voltage - level) / tau) * grad, None, None, None


def spike(voltage: torch.Tensor, params: NeuronParams) -> torch.Tensor:
    """Spikes ``voltage >= params.spike_level`` (0/1 in the voltage's dtype),
    with slayer's surrogate gradient (:data:`SURROGATE_TAU`,
    :data:`SURROGATE_SCALE`): what ``slayer.neuron.cuba.Neuron.spike`` gives
    for the neuron :meth:`NeuronParams.slayer_kwargs` builds."""
    return _Spike.apply(voltage, params.spike_level, SURROGATE_TAU * params.threshold, SURROGATE_SCALE)


class _RoundToStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, step: float):
        return torch.round(x / step) * step

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def quantize_8bit(weight: torch.Tensor) -> torch.Tensor:
    """Float weights on Loihi 2's 8-bit grid (even integers in [-256, 254]
    over ``w_scale``), with a straight-through gradient inside the range:
    slayer's ``quantize_8bit``, and :func:`lava_ff.core.loihi.quantize_weights`
    in torch."""
    scale = LOIHI2.w_scale
    return _RoundToStep.apply(weight, LOIHI2.weight_step / scale).clamp(LOIHI2.weight_min / scale,
                                                                          LOIHI2.weight_max / scale)


def _check_constants(current_decay: int, voltage_decay: int, w_scale: int) -> None:
    if w_scale < 1 or w_scale & (w_scale - 1):
        raise ValueError(f"w_scale must be a power of two (slayer's scale, 64 here), got {w_scale}")
    for name, decay in (("current_decay", current_decay), ("voltage_decay", voltage_decay)):
        if not 0 <= decay <= 1 << DECAY_SHIFT:
            raise ValueError(f"{name} must be an integer in [0, {1 << DECAY_SHIFT}], got {decay}")


def _keeps(current_decay: int, voltage_decay: int) -> tuple[float, float]:
    """The factors that keep ``(4096 - decay) / 4096`` of a state per step (exact in binary)."""
    return tuple(((1 << DECAY_SHIFT) - d) / (1 << DECAY_SHIFT) for d in (current_decay, voltage_decay))


class _CubaIntegrator(torch.autograd.Function):
    """Current and voltage of a CUBA neuron in one loop over time, on
    integers scaled by ``w_scale`` (held in float64: exact below 2**53, far
    above the 24-bit states times 12-bit decays, and vectorised where int64
    division is not):

        c[t] = trunc((4096 - dc) c[t-1] / 4096) + trunc(w_scale x[t])   (folded into 24 bits)
        v[t] = trunc((4096 - dv) v[t-1] / 4096) + c[t]                  (clipped to 24 bits)

    and ``v`` restarts from 0 after reaching the threshold. The fold and the
    clip are Loihi's (:func:`lava_ff.core.neuron.cuba_step_fixed`); slayer
    has neither, and they change nothing until a current passes 2048 times
    the threshold. The backward pass passes through both. Time-major:
    ``x``, ``c`` and ``v`` are ``[T, ...]``; one step's states are converted
    at a time, so no float64 copy of the whole input is made."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, current_decay: int, voltage_decay: int, w_scale: int, threshold: float,
                with_current: bool):
        keep_c, keep_v = _keeps(current_decay, voltage_decay)
        limit = threshold * w_scale
        ctx.keeps = keep_c, keep_v  # the backward pass decays by the same factors, without the reset
        ctx.with_current = with_current
        native = cuba_forward_native(x, keep_c, keep_v, w_scale, limit, with_current)
        if native is not None:
            voltage, current, _ = native
            return (current, voltage) if with_current else voltage
        current, voltage = torch.empty_like(x) if with_current else None, torch.empty_like(x)
        c = torch.zeros(x.shape[1:], dtype=torch.float64, device=x.device)
        v, drive = torch.zeros_like(c), torch.empty_like(c)
        half = float(1 << (LOIHI2.state_bits - 1))
        for t in range(x.shape[0]):
            # (w_scale * x).to(int64) as slayer does it: truncation toward zero
            drive.copy_(x[t]).mul_(w_scale).trunc_()
            c.mul_(keep_c).trunc_().add_(drive)
            c.sub_((c > half).to(c.dtype) * (2 * half)).add_((c <= -half).to(c.dtype) * (2 * half))
            v.mul_(keep_v).trunc_().add_(c).clamp_(1 - half, half - 1)
            if with_current:  # same-precision copies, then one scaling: mixed-dtype division is slow
                current[t].copy_(c)
            voltage[t].copy_(v)
            v.masked_fill_(v >= limit, 0)
        # w_scale is a power of two, so scaling after the rounding to x's dtype is exact
        voltage.mul_(1.0 / w_scale)
        return (current.mul_(1.0 / w_scale), voltage) if with_current else voltage

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):
        # slayer's gradient of y[t] = (1 - a) y[t-1] + x[t] for each integrator, chained
        keep_c, keep_v = ctx.keeps
        grad_v = grads[-1].clone(memory_format=torch.contiguous_format)
        for t in range(grad_v.shape[0] - 2, -1, -1):
            grad_v[t].add_(grad_v[t + 1], alpha=keep_v)
        grad = grad_v.add_(grads[0]) if ctx.with_current else grad_v
        for t in range(grad.shape[0] - 2, -1, -1):
            grad[t].add_(grad[t + 1], alpha=keep_c)
        return grad, None, None, None, None, None


def cuba_integrate(x: torch.Tensor, current_decay: int, voltage_decay: int, w_scale: int,
                   threshold: float, with_current: bool = True):
    """slayer's CUBA ``dynamics`` from a zero state, time-major: ``x``
    ``[T, ...]`` (contiguous is fastest) -> ``(current, voltage)``, same
    shape and dtype (``voltage`` alone with ``with_current=False``, which
    skips storing the current: what a layer needs, as only the voltage
    spikes); decays are integers in ``[0, 4096]``, ``w_scale`` a power of
    two, ``threshold`` the voltage's reset level."""
    if x.ndim < 2:
        raise ValueError(f"expected [time, ...], got shape {tuple(x.shape)}")
    _check_constants(current_decay, voltage_decay, w_scale)
    return _CubaIntegrator.apply(x, int(current_decay), int(voltage_decay), int(w_scale), float(threshold),
                                 bool(with_current))


def neuron_constants(params: NeuronParams) -> tuple[int, int, int, float]:
    """``(current_decay, voltage_decay, w_scale, threshold)`` that
    :func:`cuba_integrate` takes, from the core neuron: its integer decays,
    the state scale and the spike level (threshold plus slayer's margin)."""
    fixed = params.fixed
    return fixed.i_decay, fixed.v_decay, LOIHI2.state_scale, params.spike_level


def _neuron_constants(neuron) -> tuple[int, int, int, float]:
    """:func:`neuron_constants` of a core :class:`NeuronParams`, or those of a
    slayer CUBA neuron that these paths cover (read from its attributes)."""
    if isinstance(neuron, NeuronParams):
        return neuron_constants(neuron)
    if neuron.persistent_state or neuron.norm is not None or neuron.current_decay.numel() != 1:
        raise ValueError("cuba_dynamics, cuba_voltage and cuba_spikes cover neurons with shared decays, no "
                         "persistent state and no norm")
    # slayer keeps its decays scaled by 4096 and rounds them where it uses them
    return (int(torch.round(neuron.current_decay).item()), int(torch.round(neuron.voltage_decay).item()),
            neuron.s_scale, neuron.threshold + neuron.threshold_eps)


def _neuron_integrate(neuron, current_in: torch.Tensor, with_current: bool):
    return cuba_integrate(current_in.permute(2, 0, 1), *_neuron_constants(neuron), with_current)


def cuba_dynamics(neuron, current_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(current, voltage)`` of the CUBA neuron ``neuron`` (a core
    :class:`NeuronParams`, or a slayer ``cuba.Neuron`` with shared decays, no
    persistent state and no norm) driven by ``current_in`` ``[B, N, T]``:
    what slayer's ``neuron.dynamics(current_in)`` returns, computed by
    :func:`cuba_integrate`. Both are ``[B, N, T]`` views of time-major
    memory, so a ``current_in`` that is one (``x.permute(1, 2, 0)`` of a
    contiguous ``[T, B, N]``) is read without a copy."""
    current, voltage = _neuron_integrate(neuron, current_in, True)
    return current.permute(1, 2, 0), voltage.permute(1, 2, 0)


def cuba_voltage(neuron, current_in: torch.Tensor) -> torch.Tensor:
    """The voltage of :func:`cuba_dynamics` alone, without storing the current."""
    return _neuron_integrate(neuron, current_in, False).permute(1, 2, 0)


def cuba_spikes(neuron, current_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(spikes, voltage)`` of ``neuron`` (as in :func:`cuba_dynamics`)
    driven by ``current_in`` ``[B, N, T]``: :func:`cuba_voltage` and
    :func:`spike` (a slayer neuron's own spike function for a slayer
    neuron, the reference the tests compare with). Where no gradient is
    needed and the compiled kernel runs (:mod:`lava_ff.offline.native`), it
    emits the spikes while it integrates (the reset condition, which is the
    spike condition: voltages lie on the ``1 / w_scale`` grid), saving two
    passes over ``[B, N, T]``; equal either way (tested)."""
    if not (torch.is_grad_enabled() and current_in.requires_grad):
        current_decay, voltage_decay, w_scale, threshold = _neuron_constants(neuron)
        _check_constants(current_decay, voltage_decay, w_scale)
        native = cuba_forward_native(current_in.permute(2, 0, 1), *_keeps(current_decay, voltage_decay), w_scale,
                                     threshold * w_scale, False, with_spikes=True)
        if native is not None:
            voltage, _, spikes = native
            return spikes.permute(1, 2, 0), voltage.permute(1, 2, 0)
    voltage = cuba_voltage(neuron, current_in)
    return (spike(voltage, neuron) if isinstance(neuron, NeuronParams) else neuron.spike(voltage)), voltage
