"""The FF rule in Lava's own terms: its ``Loihi3FLearningRule`` and the synapse inputs it reads.

:class:`lava_ff.core.rule.FFLearningRule` holds the rule (its constants,
traces, third factors and rule strings) without Lava; this module hands it
to Lava's learning engine, whose parser checks the strings, for the
learning Processes (:mod:`lava_ff.processes.ff_learning_dense`,
:mod:`lava_ff.processes.ff_learning_neuron`,
:mod:`lava_ff.processes.ff_readout_neuron`).
"""

from __future__ import annotations

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

from lava_ff.core.rule import FFLearningRule

__all__ = ["lava_learning_rule", 'check_rule_string', 'POST_SYNAPTIC_PORTS', 'post_synaptic_ports']



def check_rule_string(dw: str) -> str:
    """Parse ``dw`` with Lava's learning-rule parser; raise ``ValueError``
    naming the string if Lava would reject it (decimals, a bare ``u``, a
    constant outside ``mantissa in [-8, 7] * 2^e, e in [-7, 8]``, no
    dependency)."""
    if not isinstance(dw, str) or not dw.strip():
        raise ValueError(f"learning rule string must be a non-empty str, got {dw!r}")
    try:
        Loihi3FLearningRule(dw=dw, x1_impulse=1, x1_tau=1, t_epoch=1, rng_seed=2)
    except Exception as err:  # Lava raises ValueError, AttributeError or KeyError
        raise ValueError(f"Lava's learning engine rejects the rule {dw!r}: {type(err).__name__}: "
                         f"{err} (constants are mantissa*2^exponent with mantissa in [-8, 7], "
                         "exponent in [-7, 8], no decimals; dependencies are x0, y0 or u0..u9)") from err
    return dw


# ------------------------------------------------------------ the schedule
#: a learning synapse's inputs from its post-synaptic neuron (each fed by the neuron's ``s_out_*`` twin)
POST_SYNAPTIC_PORTS = ("s_in_bap", "s_in_y1", "s_in_y2", "s_in_y3")


def post_synaptic_ports(lava_rule) -> tuple[str, ...]:
    """The synapse's post-synaptic inputs that ``lava_rule`` (a Lava
    ``Loihi3FLearningRule``) reads: ``s_in_y1..3`` for the traces in its
    products, ``s_in_bap`` if it depends on post-synaptic spikes (``y0``;
    a three-factor rule's ``y`` traces have no spike impulses). The engine
    reads an unconnected input as zeros, so wiring only these changes
    nothing in the learning and spares the simulator a message per input
    and step."""
    read = set(lava_rule.active_traces) | ({"bap"} if "y0" in lava_rule.active_traces_per_dependency else set())
    return tuple(port for port in POST_SYNAPTIC_PORTS if port[len("s_in_"):] in read)


def lava_learning_rule(rule: FFLearningRule, *, fixed: bool) -> Loihi3FLearningRule:
    """``rule`` as Lava's ``Loihi3FLearningRule`` for ``LearningDense``
    (``fixed``: the integer engine Loihi 2 runs; else the float model),
    its strings checked by Lava's parser (:func:`check_rule_string`)."""
    return Loihi3FLearningRule(dw=check_rule_string(rule.dw(fixed=fixed)),
                               x1_impulse=rule.pre_trace_increment(fixed=fixed), x1_tau=rule.pre_trace_tau,
                               t_epoch=rule.t_epoch, rng_seed=rule.rng_seed)
