"""Stochastic gradient descent with momentum (Polyak; Nesterov) and L2 weight decay.

PyTorch's update, for gradient g of parameter p (velocity v = 0 before the first step)::

    g = g + weight_decay * p                (with the sign of maximize: Optimizer's part)
    v = g                                   at the first step
    v = momentum * v + (1 - dampening) * g  afterwards
    g = g + momentum * v   (nesterov)   or   g = v
    p = p - lr * g

Note this "v" form differs from Sutskever et al. 2013 (who fold lr into v); it
is what PyTorch does, so learning rates carry over.
"""
from .optimizer import Optimizer, required

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        if lr is not required and lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr}")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, param, grad, state, group):
        lr, momentum = group["lr"], group["momentum"]
        if momentum != 0:
            velocity = state.get("momentum_buffer")
            if velocity is None:
                velocity = state["momentum_buffer"] = grad.copy()
            else:
                velocity *= momentum
                velocity += (1 - group["dampening"]) * grad
            grad = grad + momentum * velocity if group["nesterov"] else velocity
        param.data -= lr * grad
