"""``python -m include.stellar_lineage.store.cassandra.admin``: see ``cli.py``."""

from include.stellar_lineage.store.cassandra.admin.cli import main

raise SystemExit(main())
