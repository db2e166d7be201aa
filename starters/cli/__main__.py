"""``python -m starters.cli``: the ``oms`` command."""

from starters.cli import main

main()
