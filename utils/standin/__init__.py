"""The local stand-in endpoint: a loopback HTTP server that behaves like Volcengine. Only scripts, tests and benchmarks import it."""
from .server import FAULT_KINDS, STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, Fault, StandIn, parse_fault

__all__ = ["FAULT_KINDS", "STANDIN_ACCESS_KEY", "STANDIN_SECRET_KEY", "Fault", "StandIn", "parse_fault"]
