"""`python -m utils.standin`: run the stand-in endpoint on loopback, optionally with queued faults."""
from __future__ import annotations

import argparse
import signal
import sys
import time

from . import server
from .faults import FAULT_HELP, SHAPES, parse_fault
from .server import STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY, StandIn


def main(argv: list[str] | None = None) -> int:
    kinds = "\n".join(f"  {kind}: {text}" + (f" [shapes: {', '.join(SHAPES[kind])}]" if kind in SHAPES else "")
                      for kind, text in FAULT_HELP.items())
    parser = argparse.ArgumentParser(prog="python -m utils.standin", description=server.__doc__.split("\n\n")[0],
                                     epilog=f"fault kinds:\n{kinds}", formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any free port)")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:ARG][/TIMES]",
                        help="queue a fault, repeatable (kinds below)")
    parser.add_argument("--deny", action="append", default=[], metavar="REQ_KEY",
                        help="play an account without permission for this req_key (e.g. i2i_inpainting), repeatable")
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault(text) for text in args.fault]
        standin = StandIn(host=args.host, port=args.port).start()
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    standin.inject(*faults)
    standin.deny(*args.deny)
    print(f"Volcengine visual stand-in listening on {standin.endpoint}")
    print(f"access key: {STANDIN_ACCESS_KEY}")
    print(f"secret key: {STANDIN_SECRET_KEY}  (public example key; it only opens this stand-in)")
    print("Use it with:")
    print(f"export VOLC_VISUAL_ENDPOINT={standin.endpoint} VOLC_ACCESSKEY={STANDIN_ACCESS_KEY} "
          f"VOLC_SECRETKEY={STANDIN_SECRET_KEY}")
    print("Press Ctrl-C to stop.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # terminate() stops cleanly too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0
