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


def generate(functions: int) -> str:
    """The dense file: `import mlflow`, then `functions` functions."""
    return "import mlflow\n\n\n" + "".join(FUNCTION.format(i=i) for i in range(functions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", nargs=2, metavar=("FUNCTIONS", "FILE"), required=True)
    args = parser.parse_args(argv)
    functions, target = int(args.write[0]), Path(args.write[1])
    target.write_text(generate(functions), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
