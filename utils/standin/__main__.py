"""`python -m utils.standin` from the repository root runs the stand-in endpoint."""
import sys

from .server import main

sys.exit(main())
