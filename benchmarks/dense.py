"""Dense logging code (issue #15): one generated file of N training functions, each with a
`log_param` and a loop with a `log_metric` (6 lines and 2 findings per function).

    python benchmarks/dense.py --write 2000 FILE     # only write the file

The generated code is what a training package, a notebook export or a sweep script looks like
to the engine: every function reaches the tracking API, so nothing can be skipped, and every
function holds findings (MLF101 and MLF108 on the `log_metric`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FUNCTION = """\
def train_{i}(model, loader):
    mlflow.log_param("lr_{i}", 0.1)
    for batch in loader:
        loss = model.step(batch)
        mlflow.log_metric("loss_{i}", loss)

"""
LINES_PER_FUNCTION = 6
FINDINGS_PER_FUNCTION = 2
# The same with what `fix` rewrites: two params and two metrics logged one by one (MLF103 and
# MLF102, safe fixes), and the loop's metrics (MLF101, reported only: its fix is unsafe).
FIXABLE_FUNCTION = """\
def train_{i}(model, loader):
    mlflow.log_param("lr_{i}", 0.1)
    mlflow.log_param("batch_{i}", 32)
    for step, batch in enumerate(loader):
        loss = model.step(batch)
        mlflow.log_metric("loss_{i}", loss, step=step)
        mlflow.log_metric("acc_{i}", model.acc, step=step)

"""
FIXABLE_FINDINGS_PER_FUNCTION = 4  # 2 fixed, 2 remaining


def generate(functions: int, fixable: bool = False) -> str:
    """The dense file: `import mlflow`, then `functions` functions."""
    template = FIXABLE_FUNCTION if fixable else FUNCTION
    return "import mlflow\n\n\n" + "".join(template.format(i=i) for i in range(functions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", nargs=2, metavar=("FUNCTIONS", "FILE"), required=True)
    parser.add_argument("--fixable", action="store_true", help="the variant `fix` rewrites")
    args = parser.parse_args(argv)
    functions, target = int(args.write[0]), Path(args.write[1])
    target.write_text(generate(functions, args.fixable), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
