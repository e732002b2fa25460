"""Offline FF training in PyTorch: the CUBA dynamics (and a compiled CPU
kernel), the FF network, the layer-local trainer, the BPTT baseline and the
robustness suite."""
