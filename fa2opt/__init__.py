"""fa2opt: SLA-aware autoscaling of deep-learning inference graphs.

After FA2 (Razavi et al., "FA2: Fast, Accurate Autoscaling for Serving Deep Learning
Inference with SLA Guarantees", IEEE RTAS 2022). The problem is defined in the project's
spec; every method answers through :func:`solve` with the same :class:`Answer` type.
"""

from .answer import Answer, NodeDecision
from .io import InputError, load_instance
from .model import Config, Edge, Flow, Instance, Node
from .problem import Problem
from .solver import Decision, Solver, available_methods, get_solver, register, solve
from .verify import verify

__all__ = ["Answer", "NodeDecision", "InputError", "load_instance", "Config", "Edge", "Flow",
           "Instance", "Node", "Problem", "Decision", "Solver", "available_methods",
           "get_solver", "register", "solve", "verify"]
__version__ = "0.1.0"
