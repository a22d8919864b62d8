from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint.context import iter_children
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, Safety

_LISTING_FUNCTIONS = frozenset({"listdir", "scandir", "glob", "iglob", "walk"})
_LISTING_METHODS = frozenset({"iterdir", "glob", "rglob"})


def listing(iterator: cst.BaseExpression) -> Optional[tuple[str, cst.Call]]:
    """("listdir" | "iterdir" | ..., the call) when the loop iterates a directory listing
    (`os.listdir(d)`, `os.scandir(d)`, `glob.glob(p)`, `Path(d).iterdir()`, `p.rglob(...)`,
    `os.walk(d)`), possibly wrapped in `sorted(...)`."""
    if (
        isinstance(iterator, cst.Call)
        and isinstance(iterator.func, cst.Name)
        and iterator.func.value in ("sorted", "list")
        and len(iterator.args) == 1
    ):
        iterator = iterator.args[0].value
    if not isinstance(iterator, cst.Call):
        return None
    func = iterator.func
    if isinstance(func, cst.Name) and func.value in _LISTING_FUNCTIONS:
        return func.value, iterator
    if isinstance(func, cst.Attribute):
        name = func.attr.value
        base = func.value
        if (
            isinstance(base, cst.Name)
            and base.value in ("os", "glob")
            and name in _LISTING_FUNCTIONS
        ):
            return name, iterator
        if name in _LISTING_METHODS and not (isinstance(base, cst.Name) and base.value == "glob"):
            return name, iterator
    return None


class PerFileArtifactUpload(Rule):
    """
    ## What it does
    Flags `log_artifact` (fluent or `MlflowClient`) called on each file of a directory
    listing: a loop over `os.listdir`, `os.scandir`, `glob.glob`, `Path.iterdir`,
    `Path.glob` / `rglob` or `os.walk`, directly or through a function defined in the same
    module that the loop calls (reported at that call, naming the chain: `upload ->
    mlflow.log_artifact`; no fix). A per-epoch checkpoint upload in a training loop is not
    this rule.

    ## Why is this bad
    One `log_artifact` call per file: one client round trip, and on a plain `mlflow server`
    one HTTP upload, per file. `mlflow.log_artifacts(dir, artifact_path)` saves the client
    round trips and uploads in parallel on cloud stores (Databricks, S3/ADLS via presigned
    URLs), but on a plain `mlflow server` or S3/GCS/Azure Blob it still uploads file by file.
    The real cut is one artifact: bundle the files into one archive (`shutil.make_archive`) or
    one combined file (one `log_dict` / `log_table`) and log that once.

    ## Fix safety
    Unsafe, and only where provable: a loop whose whole body uploads every entry of one
    directory (`for f in os.listdir(d): mlflow.log_artifact(os.path.join(d, f), A)` or
    `for p in Path(d).iterdir(): mlflow.log_artifact(p, A)`) to the same `artifact_path`
    becomes `mlflow.log_artifacts(d, artifact_path=A)`, which stores the same tree
    (subdirectories land under their own name in both forms). What differs: files created in
    the directory while the upload runs, and the upload order. A loop that filters files
    (`if`, glob patterns, `os.walk`) is reported without a fix.
    """

    code = "MLF107"
    name = "per-file-artifact-upload"
    summary = "`log_artifact` once per file of a directory listing: one upload call per file."
    triggers = frozenset({"log_artifact"})
    fix_safety = Safety.UNSAFE

    def setup(self) -> None:
        self._helper_calls: list[cst.Call] = []  # calls of local functions in listing loops

    def leave_For(self, node: cst.For) -> None:  # after the calls inside are resolved
        found_listing = listing(node.iter)
        if found_listing is None:
            return
        for call in _calls_in(node.body):
            found = self.ctx.api_call(call)
            if found is None:
                self._helper_calls.append(call)  # a helper may upload: decided in finish()
                continue
            if found.name != "log_artifact":
                continue
            fix = self._fix(node, found_listing, call, found.is_client)
            self.report(
                call,
                f"`{found.qualname}` uploads each file of this directory listing with its own "
                "call; `mlflow.log_artifacts(dir, artifact_path)` makes one client call (on a "
                "plain `mlflow server` it still uploads file by file); bundle the files into one "
                "archive or one combined artifact to really cut uploads",
                fix=fix,
            )

    def finish(self) -> None:
        """Uploads made by helpers defined in this module, called once per listed file."""
        for call in self._helper_calls:
            reached = self.ctx.helper_call(call, lambda f, _: f.name == "log_artifact", True)
            if reached is not None:
                found, _, chain = reached
                self.report(
                    call,
                    f"`{chain} -> {found.qualname}` uploads each file of this directory listing "
                    "with its own call; upload the directory with one "
                    "`mlflow.log_artifacts(dir, artifact_path)`, or bundle the files into one "
                    "archive",
                )

    def _fix(
        self, loop: cst.For, found_listing: tuple[str, cst.Call], call: cst.Call, is_client: bool
    ) -> Optional[PendingFix]:
        kind, listing_call = found_listing
        if fixes.has_comment(loop.with_changes(leading_lines=())):
            return None  # the loop is replaced: its comments would be lost
        body = loop.body.body
        if loop.orelse is not None or len(body) != 1 or not isinstance(loop.target, cst.Name):
            return None
        statement = body[0]
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and statement.body[0].value is call
        ):
            return None
        found = self.ctx.api_call(call)
        bound = fixes.bind_arguments(call, found.signature if found else None)
        if bound is None or "local_path" not in bound:
            return None
        target = loop.target.value
        directory = _listed_directory(
            kind, listing_call, bound["local_path"].value, target, self.ctx.code
        )
        if directory is None:
            return None
        rest = {name: arg for name, arg in bound.items() if name != "local_path"}
        if any(
            fixes.uses_names(a.value, [target]) or not fixes.is_pure(a.value) for a in rest.values()
        ):
            return None
        if isinstance(call.func, cst.Attribute):
            callee: Optional[str] = f"{self.ctx.code(call.func.value)}.log_artifacts"
        else:
            callee = fixes.fluent_callee(self.ctx, call, "log_artifacts")
        if callee is None:
            return None
        if is_client and "run_id" not in rest:
            return None
        # MlflowClient.log_artifacts(run_id, local_dir, ...) / mlflow.log_artifacts(local_dir, ...)
        pairs = [
            (name, self.ctx.code(rest[name].value))
            for name in sorted(rest, key=lambda n: n != "run_id")
        ]
        pairs.insert(1 if is_client else 0, ("local_dir", directory))
        code = fixes.call_code(callee, fixes.keywords(pairs), fixes.current_indent(self.ctx))
        return PendingFix(
            f"Upload the directory with one `{callee}` call",
            Safety.UNSAFE,
            [NodeEdit(loop, loop, code)],
        )


def _listed_directory(
    kind: str,
    listing_call: cst.Call,
    path: cst.BaseExpression,
    target: str,
    code: Callable[[cst.CSTNode], str],
) -> Optional[str]:
    """The directory expression when `path` names each entry of `listing_call` in full."""
    if kind == "listdir" and len(listing_call.args) == 1 and not listing_call.args[0].keyword:
        directory = listing_call.args[0].value
        if (
            isinstance(path, cst.Call)
            and code(path.func) in ("os.path.join", "path.join", "join")
            and len(path.args) == 2
            and code(path.args[0].value) == code(directory)
            and isinstance(path.args[1].value, cst.Name)
            and path.args[1].value.value == target
        ):
            return code(directory)
    if kind == "iterdir" and isinstance(listing_call.func, cst.Attribute) and not listing_call.args:
        entry = path
        if (
            isinstance(entry, cst.Call)
            and code(entry.func) in ("str", "os.fspath")
            and len(entry.args) == 1
        ):
            entry = entry.args[0].value
        if isinstance(entry, cst.Name) and entry.value == target:
            return code(listing_call.func.value)
    return None


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Calls in a loop body, not inside nested function definitions."""
    found: list[cst.Call] = []
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        if isinstance(current, cst.Call):
            found.append(current)
        todo.extend(iter_children(current))
    found.reverse()
    return found
