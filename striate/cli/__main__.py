"""``python -m striate.cli`` runs the ``striate`` command."""
import sys

from .main import main

sys.exit(main())
