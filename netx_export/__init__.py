"""netx HDF5 export/import of lava-ff networks (imported as ``lava_ff.netx_export``)."""

from lava_ff.netx_export.io import NetxFormatError, export, load

__all__ = ["NetxFormatError", "export", "load"]
