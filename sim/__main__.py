"""``python -m sim`` runs the command line, like the ``ucsim`` script."""

from sim.cli import entry_point

entry_point()
