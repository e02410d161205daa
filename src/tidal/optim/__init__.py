"""Optimisers and learning-rate schedulers for the online linear learners.

Optimisers are immutable configurations (``get_params`` works, so they clone and serialise); the
learner owns their state arrays.

>>> from tidal.optim import SGD, schedulers
>>> SGD(lr=schedulers.InverseScaling(0.5, power=0.5))
SGD(lr=InverseScaling(learning_rate=0.5))
"""

from tidal.optim import schedulers
from tidal.optim._optimizers import SGD, AdaGrad, Adam, FTRLProximal, Optimizer

__all__ = ["AdaGrad", "Adam", "FTRLProximal", "Optimizer", "SGD", "schedulers"]
