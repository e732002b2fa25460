"""The numpy core: Loihi 2's numbers, the CUBA neuron, the FF rule, goodness,
the window clock, inputs, the configuration and the network spec.

It imports numpy and the standard library only, and nothing of lava-ff
above it (checked by the import contracts in ``pyproject.toml``).
"""
