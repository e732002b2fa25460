"""lava-ff: Forward-Forward learning for spiking neural networks on Lava / Loihi 2.

``import lava_ff`` stays light (numpy only); torch, lava and h5py are
imported by the submodules that need them.
"""

__version__ = "0.1.0"
