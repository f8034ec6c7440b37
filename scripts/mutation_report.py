"""The mutation check's summary (docs/testing.md): reads ``mutmut results --all true`` and
prints, per package and module, how many mutants were killed, survived, timed out or were
reached by no test, and the score: killed (timeouts count as killed: the mutant hung the
tests) over all mutants less the ones judged equivalent in ``docs/mutation-equivalent.txt``
(one mutant name a line, then its reason after " # ").

    python scripts/mutation_report.py [RESULTS]   (default .cache/mutmut-results.txt, or runs
                                                   mutmut results itself when it is absent)
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "docs" / "mutation-equivalent.txt"
KILLED = {"killed", "timeout"}


def read_results(path: Path | None) -> dict[str, str]:
    if path is not None and path.is_file():
        text = path.read_text()
    else:
        text = subprocess.run([str(ROOT / ".venv" / "bin" / "mutmut"), "results", "--all", "true"],
                              capture_output=True, text=True, check=True, cwd=ROOT).stdout
    out = {}
    for line in text.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            out[name] = status.strip()
    return out


def equivalent() -> dict[str, str]:
    if not EQUIVALENT.is_file():
        return {}
    out = {}
    for line in EQUIVALENT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.partition(" # ")
            out[name.strip()] = why.strip()
    return out


def module_of(mutant: str) -> str:
    """engine.track.kalman.x_KalmanBox__predict__mutmut_3 -> engine.track.kalman"""
    head = mutant.split("__mutmut_")[0]
    parts = head.split(".")
    return ".".join(p for p in parts[:-1]) if len(parts) > 1 else head


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / ".cache" / "mutmut-results.txt"
    results = read_results(path)
    if not results:
        print("no mutmut results: run `make mutation` first", file=sys.stderr)
        return 2
    eq = equivalent()
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, status in results.items():
        mod = module_of(name)
        key = "equivalent" if name in eq and status not in KILLED else status
        for group in (mod, ".".join(mod.split(".")[:2]), "all"):
            rows[group][key] += 1
    statuses = sorted({s for c in rows.values() for s in c})
    print("| module | " + " | ".join(statuses) + " | score |")
    print("|---" * (len(statuses) + 2) + "|")
    order = sorted(rows, key=lambda g: (g == "all", g.count(".") != 1, g))
    for group in order:
        c = rows[group]
        judged = sum(c.values()) - c["equivalent"]
        killed = sum(c[s] for s in KILLED)
        score = killed / judged if judged else float("nan")
        label = f"**{group}**" if group.count(".") <= 1 else group
        print(f"| {label} | " + " | ".join(str(c[s]) for s in statuses) + f" | {score:.3f} |")
    survivors = sorted(n for n, s in results.items() if s not in KILLED and n not in eq)
    print(f"\n{len(survivors)} not killed and not judged equivalent"
          + (":" if survivors else ""))
    for n in survivors:
        print(f"  {n}: {results[n]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
