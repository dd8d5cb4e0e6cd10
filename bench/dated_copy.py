"""A copy of one size of bench/generate.py's data with a `recorded_at` on every row, and its audit
inputs: `bench/dated_copy.py bench/data/1M /tmp/dated/1M [--json]`.

Per row, seeded by probe: 0.2% an impossible date (February 30th), ~2% up to three days before the
plan's `created_at`, the rest up to three days after it; 80% written `...T..:..:..ffffffZ`, 10% with
a `+00:00` offset, 10% with a space and no zone (all forms the packet reads without pandas). Then
`audit import jsonl` per probe writes `audit_<probe>.parquet` (or `.json` with `--json`), the
names bench/packet_ab.py reads (it finds a JSON input by its content, not its name).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from worldflux_nb.cli import main as cli

PROBES = ("libero", "libero-plus", "simpler-env")


def dated_text(rng: random.Random, freeze: datetime) -> str:
    roll = rng.random()
    if roll < 0.002:
        return "2026-02-30T10:00:00Z"
    moment = freeze + timedelta(seconds=(-1 if roll < 0.022 else 1) * rng.randrange(1, 86400 * 3),
                                microseconds=rng.randrange(10**6))
    form = rng.random()
    if form < 0.8:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat() if form < 0.9 else moment.strftime("%Y-%m-%d %H:%M:%S")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--json", action="store_true", help="audit inputs as JSON (named .parquet)")
    args = parser.parse_args()
    args.target.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.source / "plan.json", args.target / "plan.json")
    created = json.loads((args.source / "plan.json").read_text(encoding="utf-8"))["created_at"]
    freeze = datetime.fromisoformat(created.replace("Z", "+00:00"))
    for probe in PROBES:
        rng = random.Random(probe)
        jsonl = args.target / f"{probe}.jsonl"
        with open(args.source / f"{probe}.jsonl", encoding="utf-8") as rows, \
                open(jsonl, "w", encoding="utf-8") as out:
            for line in rows:  # a generated row is one compact JSON object: the field goes before its `}`
                out.write(line.rstrip("\n")[:-1] + f',"recorded_at":"{dated_text(rng, freeze)}"}}\n')
        output = args.target / f"audit_{probe}.{'json' if args.json else 'parquet'}"
        code = cli(["audit", "import", "jsonl", str(jsonl), "--plan", str(args.target / "plan.json"),
                    "--probe", probe, "--output", str(output), "--max-evidence-rows", "12000000"])
        if code:
            raise SystemExit(f"audit import of {jsonl} failed ({code})")
        if args.json:
            output.rename(output.with_suffix(".parquet"))


if __name__ == "__main__":
    main()
