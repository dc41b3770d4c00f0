"""Small helpers for the local servers the tests start (Airflow, Redis, Cassandra, BigQuery emulator)."""

from __future__ import annotations

import socket

import psutil


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it; the caller binds it soon after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def describe_process(p: psutil.Process) -> str:
    """``pid command line`` for a report of processes that had to be killed or survived."""
    try:
        return f"{p.pid} {' '.join(p.cmdline())[:160]}"
    except psutil.Error:
        return str(p.pid)
