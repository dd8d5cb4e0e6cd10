"""Redaction time on 600 KB adversarial strings, rule by rule (run by hand: python bench/redaction.py).

Each rule's time is shown with its ratio to a baseline in the same run: one pass of `str.count`
over the same string. A linear rule stays within a few hundred times the baseline on every input;
a quadratic one (what issue 11 found: 25 s for 40 KB of `http://a?`) would be millions of times.
"""

from __future__ import annotations

import time

from worldflux_nb.models import redaction

SIZE = 600_000
ADVERSARIAL = {
    "url-query": "http://a?",
    "letters": "a",
    "digits": "7",
    "scheme-colon": "a://b:",
    "assignment": "password=",
    "json-pair": '"token": "',
    "repr-pair": "'secret': '",
    "path": "/home/",
    "tilde": "~/",
    "windows": "C:\\Users\\",
    "private-key": "-----BEGIN RSA PRIVATE KEY-----",
    "jwt": "eyJ",
    "bearer": "Bearer ",
    "aws": "AKIA",
    "signed-no-scheme": "x?sig=",
    "login": "wandb login ",
    "quote": '"',
}


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    rules = redaction._rules()
    print(f"{'input':18} {'baseline s':>10} {'all rules s':>11} {'ratio':>8}  slowest rule")
    for name, unit in ADVERSARIAL.items():
        text = (unit * (SIZE // len(unit) + 1))[:SIZE]
        base = max(timed(text.count, "\x00"), 1e-6)
        total = timed(redaction.redact_text, text)
        slowest = max(((timed(lambda r=r: list(redaction._spans(text, r[0], redaction._compiled(r[1], r[2]), r[3]))), r[0])
                       for r in rules))
        print(f"{name:18} {base:10.5f} {total:11.3f} {total / base:8.0f}  {slowest[1]} {slowest[0]:.3f}s")


if __name__ == "__main__":
    main()
