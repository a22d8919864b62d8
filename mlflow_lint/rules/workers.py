"""Finding the functions a module hands to threads and worker processes.

Thread workers: `threading.Thread(target=f)`, `ThreadPoolExecutor().submit(f)` / `.map(f)`.
Process workers: `multiprocessing.Process(target=f)`, `Pool().map(f)` / `apply_async(f)` /
`starmap(f)` / `imap(f)`, `ProcessPoolExecutor().submit(f)` / `.map(f)`,
`joblib.Parallel(...)(delayed(f)(x) for x in xs)` (its default backend uses processes).
Executors are recognised by the name of the class they were created from, when bound with
`x = ...` or `with ... as x:` in the same file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from mlflow_lint.context import FileContext, iter_children

THREAD, PROCESS = "thread", "process"
_EXECUTOR_KINDS = {
    "ThreadPoolExecutor": THREAD,
    "ThreadPool": THREAD,
    "ProcessPoolExecutor": PROCESS,
    "Pool": PROCESS,
}
_SUBMIT_METHODS = frozenset(
    {
        "submit",
        "map",
        "apply",
        "apply_async",
        "starmap",
        "starmap_async",
        "imap",
        "imap_unordered",
        "map_async",
    }
)
_TARGET_CLASSES = {"Thread": THREAD, "Process": PROCESS}
THREAD_WORDS = frozenset({"Thread", "ThreadPool", "ThreadPoolExecutor"})
PROCESS_WORDS = frozenset({"Process", "Pool", "ProcessPoolExecutor", "Parallel"})


@dataclass(frozen=True)
class Submission:
    call: cst.Call  # where the work is handed over
    kind: str  # THREAD or PROCESS
    target: cst.BaseExpression  # the function (a name, attribute or lambda)


def _class_name(func: cst.BaseExpression) -> Optional[str]:
    if type(func) is cst.Name:
        return func.value
    if type(func) is cst.Attribute:
        return func.attr.value
    return None


def _executor_kind(expr: cst.BaseExpression, executors: dict[str, str]) -> Optional[str]:
    if type(expr) is cst.Call:
        return _EXECUTOR_KINDS.get(_class_name(expr.func) or "")
    if type(expr) is cst.Name:
        return executors.get(expr.value)
    return None


def shared_submissions(ctx: FileContext) -> list[Submission]:
    """submissions() of the file, computed once for all the rules that ask."""
    return ctx.memo("workers.submissions", lambda: list(submissions(ctx.module)))  # type: ignore[no-any-return]


def submissions(module: cst.Module) -> Iterator[Submission]:
    """Every place in the module that hands a function to a thread or a process."""
    executors: dict[str, str] = {}
    nodes: list[cst.CSTNode] = []
    todo: list[cst.CSTNode] = [module]
    while todo:  # first pass: executor names (order-insensitive, as names are per file)
        node = todo.pop()
        nodes.append(node)
        if (
            type(node) is cst.Assign
            and len(node.targets) == 1
            and type(node.targets[0].target) is cst.Name
        ):
            kind = _executor_kind(node.value, {})
            if kind:
                executors[node.targets[0].target.value] = kind
        elif (
            type(node) is cst.WithItem
            and node.asname is not None
            and type(node.asname.name) is cst.Name
        ):
            kind = _executor_kind(node.item, {})
            if kind:
                executors[node.asname.name.value] = kind
        todo.extend(iter_children(node))
    for node in nodes:
        if type(node) is not cst.Call:
            continue
        func = node.func
        name = _class_name(func)
        if name in _TARGET_CLASSES:
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "target":
                    yield Submission(node, _TARGET_CLASSES[name], arg.value)
        elif type(func) is cst.Attribute and func.attr.value in _SUBMIT_METHODS and node.args:
            kind = _executor_kind(func.value, executors)
            if kind and not node.args[0].keyword:
                yield Submission(node, kind, node.args[0].value)
        elif type(func) is cst.Call and _class_name(func.func) == "Parallel" and node.args:
            # Parallel(n_jobs=4)(delayed(f)(x) for x in xs)
            generator = node.args[0].value
            element = (
                generator.elt if isinstance(generator, (cst.GeneratorExp, cst.ListComp)) else None
            )
            if type(element) is cst.Call and type(element.func) is cst.Call:
                inner = element.func
                if _class_name(inner.func) == "delayed" and inner.args:
                    yield Submission(node, PROCESS, inner.args[0].value)
