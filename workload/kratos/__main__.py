"""``python -m kratos``."""

from kratos.cli import main

main()
