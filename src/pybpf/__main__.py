"""``python -m pybpf``: the same command line as the ``pybpf`` console script."""

from pybpf.cli.main import main

raise SystemExit(main())
