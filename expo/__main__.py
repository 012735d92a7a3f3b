"""`python -m expo serve` and `python -m expo demo`."""
import sys

from expo.serve import main

sys.exit(main())
