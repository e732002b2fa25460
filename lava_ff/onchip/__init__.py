"""On-chip learning above the Lava runs: the numpy reference of the learning
engine (:mod:`~lava_ff.onchip.reference`) and the epoch loop with
checkpoints and resume (:mod:`~lava_ff.onchip.fit`)."""
