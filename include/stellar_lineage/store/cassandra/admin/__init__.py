"""Operator tools for a Cassandra / Astra DB store, in one place: migrate, check, create the keyspace,
copy the seed's table, backfill the index tables, recount the counters. The CLI is ``cli.py``."""
