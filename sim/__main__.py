"""``python -m sim`` runs the command line, like the ``ucsim`` script."""

from sim.cli import app

app(prog_name="ucsim")
