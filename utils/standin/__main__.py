"""`python -m utils.standin` from the repository root runs the stand-in endpoint."""
import sys

from .cli import main

sys.exit(main())
