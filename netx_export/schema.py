"""The netx HDF5 vocabulary, in one place.

What lava-dl's ``netx.hdf5.Network`` reads (datasets only, no attributes)::

    layer/<i>/type                  b"dense" | b"input" | ... ((1,) 'S10', as slayer writes it)
    layer/<i>/shape                 [neurons]
    layer/<i>/weight                [out, in] integers (netx truncates floats with astype(int))
    layer/<i>/neuron/{type, iDecay, vDecay, vThMant, refDelay, gradedSpike}

A network with convolutions starts with an ``input`` layer (``shape``
[channels, height, width]); each convolution is ``type`` b"conv", ``shape``
[channels, height, width] of its neurons, ``weight`` [out, in, k, k] (torch's
layout; netx turns it into Lava's), ``stride``, ``padding`` [0, 0],
``dilation`` [1, 1], ``groups`` 1; a ``flatten`` layer precedes the first
dense layer after them. netx 0.6.0 builds no pool blocks, so a pooled layer's
pooling is folded into the next layer's weights
(:meth:`lava_ff.core.layers.Synapse.fold`: a larger kernel at stride
``pool``, or repeated dense weights), the same integer sums.

lava-ff adds a ``lava_ff`` group that netx ignores: the FF configuration
(overlay, time steps, goodness, theta) as JSON, the linear readout and, for a
network that learned its readout on chip, that readout's integer weights and
logit scale, and, for one that sums its scores over views of each image,
the number of views and the image shape, so a classifier can be rebuilt
from the file alone; and a SHA-256 of every dataset in the file, the
layers' included, that loading checks.

A file written with the classifier inside has one more dense layer: the
linear readout as integer weights onto one integrating neuron per class
(``layer/<L>/bias`` their per-step bias), whose voltage at the end of a
window ranks the classes; ``lava_ff/classifier_exponent`` marks it.
"""

LAYER = "layer"
TYPE = "type"
SHAPE = "shape"
WEIGHT = "weight"
BIAS = "bias"
DELAY = "delay"
NEURON = "neuron"

NEURON_TYPE = "type"
I_DECAY = "iDecay"
V_DECAY = "vDecay"
VTH_MANT = "vThMant"
REF_DELAY = "refDelay"
GRADED_SPIKE = "gradedSpike"

DENSE = "dense"
CONV = "conv"
STRIDE = "stride"
PADDING = "padding"
DILATION = "dilation"
GROUPS = "groups"
INPUT = "input"
FLATTEN = "flatten"
CUBA = "CUBA"

#: layer types netx 0.6.0 builds Processes for
NETX_RUNNABLE = ("input", "dense", "conv", "flatten", "dense_rec", "dense_comp")
#: layer types netx 0.6.0 raises NotImplementedError for
NETX_UNSUPPORTED = ("pool", "convT", "unpool", "average", "concat")
#: layer types lava-ff turns into an FF network
FF_LOADABLE = (INPUT, DENSE, FLATTEN, CONV)

FF_GROUP = "lava_ff"
FF_FORMAT = "format"
FF_FORMAT_NAME = "lava-ff-netx"
FF_VERSION = "version"
#: 2: the lava_ff group carries a SHA-256 of every dataset in the file (FF_CHECKSUM); 1: the same without it
FF_FORMAT_VERSION = 2
FF_READABLE_VERSIONS = (1, 2)
FF_CHECKSUM = "sha256"
FF_CONFIG = "config"
FF_READOUT_WEIGHT = "readout_weight"
FF_READOUT_BIAS = "readout_bias"
FF_ONCHIP_READOUT_WEIGHT = "onchip_readout_weight"
FF_ONCHIP_READOUT_SCALE = "onchip_readout_scale"
FF_VIEWS = "views"
FF_IMAGE_SHAPE = "image_shape"
#: present in a file whose last layer is the classifier (export(classifier=True)): its weights'
#: exponent e, so the readout is that layer's weight * 2**-e and its neurons' bias * 2**-e
FF_CLASSIFIER_EXPONENT = "classifier_exponent"
#: the keys of what a file keeps beside the layers (netx_export.io.spec_metadata), in the netx file's
#: lava_ff group and in a NIR graph's lava_ff metadata alike
FF_SPEC_KEYS = (FF_CONFIG, FF_READOUT_WEIGHT, FF_READOUT_BIAS, FF_ONCHIP_READOUT_WEIGHT, FF_ONCHIP_READOUT_SCALE,
                FF_VIEWS, FF_IMAGE_SHAPE)
