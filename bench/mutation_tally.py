"""The tally of a mutmut run over the mutants named by the given globs (bench/mutation.sh passes its own).

Reads mutmut's results in mutants/**/*.meta and prints one table: per module and in total, mutants
killed, survived, timed out and not checked, and the score killed / (killed + survived + timeout).
`--survivors` lists the surviving mutants' names, `--unchecked` only the names of the mutants not yet
checked (to finish an interrupted run: `mutmut run $(python bench/mutation_tally.py --unchecked GLOBS)`).
By hand only.
"""
import fnmatch
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from mutmut.stats import status_by_exit_code

args = sys.argv[1:]
show = "--survivors" in args
unchecked_only = "--unchecked" in args
globs = [a for a in args if a not in ("--survivors", "--unchecked")] or ["*"]
tally: dict[str, Counter] = defaultdict(Counter)
survivors = []
unchecked = []
for meta in sorted(Path("mutants").rglob("*.py.meta")):
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        if any(fnmatch.fnmatch(name, g) for g in globs):
            status = status_by_exit_code[code]
            tally[name.split(".x")[0].removeprefix("worldflux_nb.")][status] += 1
            if status == "survived":
                survivors.append(name)
            elif status == "not checked":
                unchecked.append(name)
if unchecked_only:
    print("\n".join(unchecked))
    sys.exit(0)
total = sum(tally.values(), Counter())
print("| module | mutants | killed | survived | timeout | other | score |\n|---|---|---|---|---|---|---|")
for module, c in [*sorted(tally.items()), ("total", total)]:
    tested = c["killed"] + c["survived"] + c["timeout"]
    other = sum(c.values()) - tested
    score = f"{100 * (c['killed'] + c['timeout']) / tested:.1f}%" if tested else "n/a"
    print(f"| {module} | {sum(c.values())} | {c['killed']} | {c['survived']} | {c['timeout']} | {other} | {score} |")
others = {k: v for k, v in total.items() if k not in ("killed", "survived", "timeout")}
if others:
    print("other:", dict(others))
if show:
    print("\n".join(survivors))
