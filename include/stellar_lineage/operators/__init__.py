"""Custom operators: thin wrappers (templated args, short execute) over include/stellar_lineage."""
