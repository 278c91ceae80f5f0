"""RMSprop (Hinton, Coursera lecture 6e, 2012), computed as PyTorch computes it.

For gradient g of parameter p (all averages 0 before the first step)::

    g   = g + weight_decay * p                         (Optimizer._descent_gradient)
    s   = alpha * s + (1 - alpha) * g^2                  (square_avg)
    a   = alpha * a + (1 - alpha) * g                    (grad_avg, centered only)
    d   = sqrt(s - a^2) + eps  (centered)   or   sqrt(s) + eps
    b   = momentum * b + g / d;  p = p - lr * b          (momentum > 0)
    p   = p - lr * g / d                                 (otherwise)

Note that eps is added outside the square root (as in PyTorch; TensorFlow adds it inside).
"""
from ..backend import xp
from .optimizer import Optimizer, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        for arg, value in (("lr", lr), ("eps", eps), ("momentum", momentum),
                           ("weight_decay", weight_decay), ("alpha", alpha)):
            if value < 0.0:
                raise ValueError(f"RMSprop: invalid {arg} {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, param, grad, state, group):
        lr, alpha, momentum = group["lr"], group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param.data)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param.data)
        state["step"] += 1
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (grad * grad)
        if group["centered"]:
            grad_avg = lerp_(state["grad_avg"], grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += grad / avg
            param.data += -lr * buffer
        else:
            param.data += -lr * (grad / avg)
