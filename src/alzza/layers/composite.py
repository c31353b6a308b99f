"""Layers made of layers."""

from __future__ import annotations

from .base import BuildContext, Layer
from .registry import register_layer


@register_layer("serial")
class Serial(Layer):
    """The children in sequence: y = f_k(… f_2(f_1(x))).

    Backward runs the chain rule in reverse: dx = f_1'ᵀ(… f_kᵀ'(dy)).
    """

    OPTIONS: dict = {}
    accepts_children = True

    def __init__(self, children: list[Layer]):
        super().__init__()
        self.layers = list(children)

    def children(self):
        return self.layers

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.build(shape, ctx)
        self.output_shape = shape
        return shape

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    @property
    def needs_input_grad(self):
        return self.layers[0].needs_input_grad if self.layers else True

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        # only the first child sees this layer's input
        if getattr(self, "layers", None):
            self.layers[0].needs_input_grad = value
