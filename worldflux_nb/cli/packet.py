"""`eval-portfolio packet` and `eval-portfolio reviewer-brief` (to be filled in by their owner)."""

from __future__ import annotations

import argparse


def register(group: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the packet commands to the `eval-portfolio` group created in cli/portfolio.py."""
    return None
