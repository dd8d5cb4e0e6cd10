"""Issue 15's rule changes, each applied to a copy of the package, with the rule tests run against it.

`.venv/bin/python bench/rule_mutants.py [TESTS...]` (default: tests/test_packet_rules.py) prints one
line per change, `killed` when a test failed. By hand only; bench/README.md records the result.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
COPY = Path(tempfile.mkdtemp(prefix="rule_mutants.")) / "tree"
MUTANTS = [
    ("re-run success if any attempt succeeded", "worldflux_nb/core/conformance_frames.py",
     "return (attempts > 0) & (successes == attempts)", "return (attempts > 0) & (successes > 0)"),
    ("bootstrap with the pooled rate for every task", "worldflux_nb/core/statistics.py",
     "pairs[0] / pairs[1], size=", "s.sum() / m.sum(), size="),
    ("bootstrap at a 90% level", "worldflux_nb/core/packet.py",
     "confidence=plan.power_targets.confidence)", "confidence=0.90)"),
    ("bootstrap seed ignores the group", "worldflux_nb/core/packet.py",
     "seed=stable_seed(plan.plan_seed, *key)", "seed=stable_seed(plan.plan_seed)"),
    ("aggregates under completed_only", "worldflux_nb/core/packet.py",
     "rows[plan.denominator_policy].to_numpy())", "rows[\"completed_only\"].to_numpy())"),
    ("half-width threshold +0.01", "worldflux_nb/core/statistics.py",
     "~(width <= max_half_width)", "~(width <= max_half_width + 0.01)"),
    ("half-width threshold -0.01", "worldflux_nb/core/statistics.py",
     "~(width <= max_half_width)", "~(width <= max_half_width - 0.01)"),
    ("n <= min instead of n < min", "worldflux_nb/core/statistics.py",
     "(n < min_episodes)", "(n <= min_episodes)"),
    ("success regardless of status", "worldflux_nb/core/conformance.py",
     'row_success = np.array([s == "completed" for s in ev.statuses] + [False])[ev.status]',
     "row_success = np.ones(len(ev.status), dtype=bool)"),
    ("re-rolled-failure signal never reported", "worldflux_nb/core/findings.py",
     "hidden = rerolled & (a.attempt_successes > 0) & (a.attempts - a.attempt_successes > 0)",
     "hidden = rerolled & (a.attempts < 0)"),
]
tests = sys.argv[1:] or ["tests/test_packet_rules.py"]
results = []
for name, path, old, new in MUTANTS:
    if COPY.exists():
        shutil.rmtree(COPY)
    shutil.copytree(SRC, COPY, ignore=shutil.ignore_patterns(".venv", "data", "__pycache__", ".git", ".hypothesis"))
    target = COPY / path
    text = target.read_text()
    if text.count(old) != 1:
        results.append((name, f"NOT APPLIED ({text.count(old)} matches)"))
        continue
    target.write_text(text.replace(old, new))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                         cwd=COPY, env={"PYTHONPATH": str(COPY), "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1767225600"}, capture_output=True, text=True)
    results.append((name, "killed" if run.returncode else "SURVIVED"))
    print(name, results[-1][1], flush=True)
shutil.rmtree(COPY.parent, ignore_errors=True)
print("\n".join(f"| {n} | {r} |" for n, r in results))
