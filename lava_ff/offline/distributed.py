"""Data-parallel offline FF training on ``torch.distributed``.

FF needs no gradient across layers, so data parallelism needs only each
layer's own update summed over the ranks. Every rank holds the whole model
and the same random state: each batch is drawn, augmented and encoded for
the whole global batch on every rank (cheap next to the layers), and each
rank runs the layers on its contiguous share of its rows. What a rank
learns from its rows is then reduced:

* gradients (surrogate, FFGAF-style, IntFF blocks) and the gradient-free
  rule's weight updates are summed with weights ``rows on this rank /
  global rows``, so the step is the one a single process takes on the
  global batch, up to the order of float additions;
* the FFGAF-style confusion record, hard negatives' label scores and the
  layer losses that the history logs are gathered in rank order, which is
  the global batch's order; validation counts are summed;
* the linear readout learns from the whole training set on every rank.

So N ranks at batch B learn what one process learns at batch B (tested
with two gloo processes). Launch with ``torchrun``; it sets ``RANK``,
``WORLD_SIZE`` and the rendezvous, and stops every rank when one fails.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch

from lava_ff.core.errors import ConfigError

__all__ = ["COLLECTIVE_TIMEOUT", "DataParallel", "from_environment", "requested_world_size", "close"]

#: how long a rank waits in a collective for the others before it fails (a rank that died)
COLLECTIVE_TIMEOUT = timedelta(seconds=60)


#: the tensors of the latest collectives, kept alive until the process group is gone. A gloo worker
#: thread drops its reference to a collective's tensors after the collective returns; if that is the
#: last reference, destroying the tensor needs the GIL. torch 2.3 destroys a process group holding the
#: GIL while it joins those threads, so a temporary tensor that died just before ``close`` deadlocked
#: the two (seen under load). Held here, no tensor dies in a worker thread.
_IN_FLIGHT: deque = deque(maxlen=256)


def requested_world_size() -> int:
    """The ``WORLD_SIZE`` torchrun set (1 outside torchrun), or a ConfigError naming a bad value."""
    text = os.environ.get("WORLD_SIZE", "1")
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise ConfigError(f"WORLD_SIZE={text!r} must be a positive integer (torchrun sets it)")
    return size


@dataclass(frozen=True)
class DataParallel:
    """This process's place among ``world`` data-parallel ranks."""

    rank: int
    world: int

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes checkpoints, metrics, plots and logs."""
        return self.rank == 0

    def rows(self, total: int) -> slice:
        """This rank's contiguous share of ``total`` rows (shares differ by at most one row)."""
        return slice(self.rank * total // self.world, (self.rank + 1) * total // self.world)

    def reduce_(self, tensors, local: int, total: int) -> None:
        """Sum ``tensors`` in place over the ranks, each weighted by its
        share of the rows (``local / total``): means over a rank's rows
        become the mean over the global batch."""
        import torch.distributed as dist

        for tensor in tensors:
            if tensor is None:
                continue
            if local:
                tensor.mul_(local / total)
            else:  # no rows here (a last batch smaller than the ranks): its mean is NaN, its share nothing
                tensor.zero_()
            _IN_FLIGHT.append(tensor)
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)

    def gather(self, array: np.ndarray, total: int) -> np.ndarray:
        """Every rank's rows of a numeric ``array`` (its :meth:`rows` share of
        ``total``), concatenated in rank order: one tensor collective, each
        rank's rows padded to the largest share."""
        import torch.distributed as dist

        array = np.asarray(array)
        largest = -(-total // self.world)
        padded = np.zeros((largest,) + array.shape[1:], dtype=np.float64)
        padded[:len(array)] = array
        parts = [torch.empty(padded.shape, dtype=torch.float64) for _ in range(self.world)]
        sent = torch.from_numpy(padded)
        _IN_FLIGHT.extend([sent, *parts])
        dist.all_gather(parts, sent)
        shares = [self.__class__(rank, self.world).rows(total) for rank in range(self.world)]
        rows = [part.numpy()[:share.stop - share.start] for part, share in zip(parts, shares, strict=True)]
        return np.concatenate(rows).astype(array.dtype)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """``values`` summed over the ranks (exact for counts)."""
        t = torch.as_tensor(np.asarray(values, np.float64)).clone()
        self.reduce_([t], 1, 1)
        return t.numpy()


def from_environment(device: torch.device | None = None) -> DataParallel | None:
    """Join the process group torchrun described (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``): gloo on a CPU, NCCL on CUDA. None
    when this is a single process."""
    world = requested_world_size()
    if world == 1:
        return None
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    if not dist.is_initialized():
        cuda = device is not None and device.type == "cuda"
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    return DataParallel(rank=rank, world=world)


def close() -> None:
    """Leave the process group, if this process joined one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()  # joins the gloo worker threads; every collective's tensors still live
    _IN_FLIGHT.clear()
