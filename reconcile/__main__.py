"""``python -m reconcile`` runs the CLI."""

from reconcile.cli import main

main()
