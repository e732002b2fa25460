"""CPU speed: a compiled kernel for the CUBA integrator, and malloc settings.

lava-dl slayer compiles its CUDA neuron kernels on first use
(``torch.utils.cpp_extension.load``); this does the same for the CPU loop of
:class:`lava_ff.offline.dynamics._CubaIntegrator`. The torch loop makes about a dozen
passes over the whole state per time step; the kernel takes 512 neurons at a
time through the whole window with their current and voltage in a small
array that stays in the L1 cache, reading the input and writing the voltage
(and, if asked, the spikes) once, with the same float64 arithmetic in the
same order, so its outputs are bit-identical (tests compare them).

Set ``LAVA_FF_NATIVE=0`` to use the torch loop only. Without a C++ compiler
(or ninja) the build fails once, with a warning naming the reason, and the
torch loop is used.

:func:`keep_freed_memory` stops glibc from handing large freed blocks back to
the system: a training step allocates and frees tensors of tens of MB, each of
which glibc otherwise maps afresh, so every step page-faults its way through
them (measured: that alone doubled the time of a 784-1000 training batch).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

from lava_ff.core.imports import quiet_import
from lava_ff.core.loihi import LOIHI2

__all__ = ['native_enabled', 'cuba_kernel', 'cuba_forward_native', 'keep_freed_memory']


_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>

namespace {

constexpr int64_t kBlock = 512;

// One block of at most kBlock neurons over the whole window, states in L1:
// c[t] = trunc(keep_c c[t-1]) + trunc(w_scale x[t]), folded once into (-half, half] (Loihi's 24-bit
// current register wraps); v[t] = trunc(keep_v v[t-1]) + c[t], clipped to [1 - half, half - 1];
// out[t] = v[t] / w_scale; a spike where v reached limit, and v restarts from 0 there.
template <typename scalar_t, bool kSpikes>
void integrate_block(const scalar_t* __restrict__ x, scalar_t* __restrict__ current,
                     scalar_t* __restrict__ voltage, scalar_t* __restrict__ spikes, const int64_t steps,
                     const int64_t count, const int64_t first, const int64_t n, const double keep_c,
                     const double keep_v, const double w_scale, const double limit, const double half) {
  const scalar_t inverse = static_cast<scalar_t>(1.0 / w_scale);
  double c[kBlock], v[kBlock];
  std::fill(c, c + n, 0.0);
  std::fill(v, v + n, 0.0);
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t offset = t * count + first;
    const scalar_t* __restrict__ xt = x + offset;
    scalar_t* __restrict__ vt = voltage + offset;
    scalar_t* __restrict__ st = kSpikes ? spikes + offset : nullptr;
    for (int64_t j = 0; j < n; ++j) {
      double cj = std::trunc(c[j] * keep_c) + std::trunc(static_cast<double>(xt[j]) * w_scale);
      cj = cj > half ? cj - 2.0 * half : (cj <= -half ? cj + 2.0 * half : cj);
      const double vj = std::clamp(std::trunc(v[j] * keep_v) + cj, 1.0 - half, half - 1.0);
      const bool fire = vj >= limit;
      c[j] = cj;
      vt[j] = static_cast<scalar_t>(vj) * inverse;
      v[j] = fire ? 0.0 : vj;
      if constexpr (kSpikes) st[j] = fire ? scalar_t(1) : scalar_t(0);
    }
    if (current != nullptr) {
      scalar_t* __restrict__ ct = current + offset;
      for (int64_t j = 0; j < n; ++j) ct[j] = static_cast<scalar_t>(c[j]) * inverse;
    }
  }
}

// Time-major [T, N]; blocks of neurons in parallel.
template <typename scalar_t>
void integrate(const scalar_t* x, scalar_t* current, scalar_t* voltage, scalar_t* spikes, int64_t steps,
               int64_t count, double keep_c, double keep_v, double w_scale, double limit, double half) {
  at::parallel_for(0, (count + kBlock - 1) / kBlock, 8, [=](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first = block * kBlock, n = std::min<int64_t>(kBlock, count - first);
      if (spikes != nullptr) {
        integrate_block<scalar_t, true>(x, current, voltage, spikes, steps, count, first, n, keep_c, keep_v,
                                        w_scale, limit, half);
      } else {
        integrate_block<scalar_t, false>(x, current, voltage, spikes, steps, count, first, n, keep_c, keep_v,
                                         w_scale, limit, half);
      }
    }
  });
}

}  // namespace

// [voltage, current or None, spikes or None]
std::vector<torch::Tensor> cuba_forward(torch::Tensor x, double keep_c, double keep_v, double w_scale,
                                        double limit, double half, bool with_current, bool with_spikes) {
  TORCH_CHECK(x.device().is_cpu(), "cuba_forward: CPU tensors only");
  TORCH_CHECK(x.dim() >= 1, "cuba_forward: expected [time, ...]");
  x = x.contiguous();
  auto voltage = torch::empty_like(x);
  auto current = with_current ? torch::empty_like(x) : torch::Tensor();
  auto spikes = with_spikes ? torch::empty_like(x) : torch::Tensor();
  const int64_t steps = x.size(0), count = steps == 0 ? 0 : x.numel() / steps;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "cuba_forward", [&] {
    integrate<scalar_t>(x.data_ptr<scalar_t>(), with_current ? current.data_ptr<scalar_t>() : nullptr,
                        voltage.data_ptr<scalar_t>(), with_spikes ? spikes.data_ptr<scalar_t>() : nullptr,
                        steps, count, keep_c, keep_v, w_scale, limit, half);
  });
  return {voltage, current, spikes};
}
"""

_STATE: dict = {}


def native_enabled() -> bool:
    """Whether the compiled kernel may be used (``LAVA_FF_NATIVE`` is not ``0``)."""
    return os.environ.get("LAVA_FF_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


def _flags() -> list[str]:
    flags = ["-O3", "-fno-trapping-math"]  # no trap handlers: lets loops vectorise, same results
    if platform.machine().lower() in ("x86_64", "amd64"):
        # SSE4.1 gives trunc as one instruction (roundsd); every x86-64 CPU since 2008 has it
        flags.append("-msse4.1")
    return flags


_KERNEL = "lava_ff_cuba_cpu_v3"
#: a build lock older than this was left by a build that died (one takes about a minute on 2 cores)
STALE_LOCK_SECONDS = 600


def _clear_stale_lock(lock: Path) -> None:
    """Remove the build lock a killed build left behind: torch waits on it
    forever, so every later run would hang silently before its first step."""
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return
    if age > STALE_LOCK_SECONDS:
        warnings.warn(f"lava_ff: removing {lock}, left {age:.0f} s ago by a kernel build that did not finish",
                      RuntimeWarning, stacklevel=3)
        lock.unlink(missing_ok=True)


def _load_built(library: Path):
    """The kernel a previous run built (its name carries the source's
    version), loaded without torch's build lock, or None where there is none
    or it does not load (a build that died while linking): then
    ``load_inline`` builds it. Loading does not take the lock, so a run killed
    while holding it cannot stall the next ones."""
    if not library.is_file():
        return None
    try:
        spec = importlib.util.spec_from_file_location(_KERNEL, library)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError):
        return None
    return module if hasattr(module, "cuba_forward") else None


def cuba_kernel():
    """The compiled module (``cuba_forward``), or None when disabled or
    unbuildable (warned once); built on the first call, cached by torch."""
    if not native_enabled():
        return None
    if "module" not in _STATE:
        try:
            cpp_extension = quiet_import("torch.utils.cpp_extension")
            _get_build_directory, load_inline = cpp_extension._get_build_directory, cpp_extension.load_inline

            build = Path(_get_build_directory(_KERNEL, verbose=False))
            module = _load_built(build / f"{_KERNEL}.so")
            if module is None:
                _clear_stale_lock(build / "lock")
                module = load_inline(name=_KERNEL, cpp_sources=_SOURCE, functions=["cuba_forward"],
                                     extra_cflags=_flags(), verbose=False)
            _STATE["module"] = module
        except Exception as err:  # no compiler, no ninja, headers missing: the torch loop still works
            _STATE["module"] = None
            warnings.warn(f"lava_ff: the compiled CUBA kernel could not be built ({type(err).__name__}: "
                          f"{str(err).strip()[:300]}); using the slower torch loop. Set LAVA_FF_NATIVE=0 to "
                          "skip the attempt.", RuntimeWarning, stacklevel=2)
    return _STATE["module"]


def cuba_forward_native(x: torch.Tensor, keep_c: float, keep_v: float, w_scale: int, limit: float,
                        with_current: bool, with_spikes: bool = False):
    """The kernel's ``(voltage, current or None, spikes or None)`` for
    time-major ``x`` (spikes: 1 where the voltage reached ``limit``, the
    reset condition), or None where it does not apply (disabled,
    unbuildable, not a CPU float tensor)."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return None
    module = cuba_kernel()
    if module is None:
        return None
    half = float(1 << (LOIHI2.state_bits - 1))  # the 24-bit states' range: the current wraps, the voltage clips
    voltage, current, spikes = module.cuba_forward(x, float(keep_c), float(keep_v), float(w_scale), float(limit),
                                                   half, bool(with_current), bool(with_spikes))
    return voltage, current, spikes


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of returning it: no
    ``mmap`` for large blocks and no trimming of the heap. The process then
    holds on to its peak memory until it exits; what the CLI and the
    benchmarks call before training. Returns whether it applied (glibc on
    Linux only; elsewhere it does nothing)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
