"""Seeing inside a trained CNN: arrays in, arrays out.

* :func:`filters`: a conv layer's weights, scaled for display;
* :func:`feature_maps`: each layer's activations, through forward hooks;
* :func:`saliency`: Simonyan, Vedaldi and Zisserman 2014, the input gradient;
* :func:`grad_cam`: Selvaraju et al. 2017, gradient-weighted class activation maps;
* :func:`occlusion`: Zeiler and Fergus 2014, the probability lost under a grey patch;
* :func:`top_activations`: the dataset images that drive one channel hardest;
* :func:`mc_dropout`: Gal and Ghahramani 2016, dropout at inference for uncertainty.

Every function leaves the model as it found it: training flags, gradients and
hooks. The pictures live in :mod:`striate.explain.plots`, which imports
matplotlib only inside its functions.
"""
from .activations import top_activations
from .gradients import grad_cam, saliency
from .layers import conv_layers, feature_maps, filters, find_layer, grad_cam_layer, layer_names
from .occlusion import occlusion
from .uncertainty import mc_dropout

__all__ = ["filters", "feature_maps", "saliency", "grad_cam", "occlusion", "top_activations",
           "mc_dropout", "find_layer", "layer_names", "conv_layers", "grad_cam_layer"]
