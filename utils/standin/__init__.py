"""The local stand-in endpoint: a loopback server acting like Volcengine; only scripts, tests and benchmarks use it."""
from .server import FAULT_KINDS, STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault, StandIn, parse_fault

__all__ = ["FAULT_KINDS", "STANDIN_ACCESS_KEY", "STANDIN_SECRET_KEY", "Fault", "StandIn", "parse_fault"]
