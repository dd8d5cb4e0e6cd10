"""Command group `notebook` (to be filled in by its owner)."""

from __future__ import annotations

import argparse


def register(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    return None
