"""MLF107: files uploaded one `log_artifact` call at a time (in a loop, or in a run of adjacent
calls), and the loop facts MLF109 shares: which names change with each iteration, and which
guards let an upload happen on one iteration only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext, iter_children, uses_names
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, RuleOption, Safety

_LISTING_FUNCTIONS = frozenset({"listdir", "scandir", "glob", "iglob", "walk"})
_LISTING_METHODS = frozenset({"iterdir", "glob", "rglob"})
# Listings whose entries can be directories (uploaded as whole trees); `os.walk` yields
# (root, dirs, files) and its loops upload `files`.
_ENTRY_LISTINGS = frozenset({"listdir", "scandir", "iterdir", "glob", "iglob", "rglob"})
# `x.name`, `os.path.basename(x)`, `str(x)`: the same entry, named another way. An equality
# test on one of these against one value picks at most one entry of a listing.
_SAME_ENTRY_ATTRIBUTES = frozenset({"name", "stem", "path"})
_SAME_ENTRY_FUNCTIONS = frozenset({"basename", "str", "fspath", "Path", "PurePath", "abspath"})
# Tests that keep only files (or only files with a suffix) of a listing.
_FILE_TESTS = frozenset(
    {"is_file", "isfile", "endswith", "suffix", "suffixes", "splitext", "fnmatch", "match"}
)
# Methods that change a list or dict kept in a variable.
_MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault"})
# A literal collection this small is a fixed set of distinct, named uploads: not worth a finding.
MAX_LITERAL_ITEMS = 3


def listing(iterator: cst.BaseExpression) -> Optional[tuple[str, cst.Call]]:
    """("listdir" | "iterdir" | ..., the call) when the loop iterates a directory listing
    (`os.listdir(d)`, `os.scandir(d)`, `glob.glob(p)`, `Path(d).iterdir()`, `p.rglob(...)`,
    `os.walk(d)`), possibly wrapped in `sorted(...)`."""
    if (
        type(iterator) is cst.Call
        and type(iterator.func) is cst.Name
        and iterator.func.value in ("sorted", "list")
        and len(iterator.args) == 1
    ):
        iterator = iterator.args[0].value
    if type(iterator) is not cst.Call:
        return None
    func = iterator.func
    if type(func) is cst.Name and func.value in _LISTING_FUNCTIONS:
        return func.value, iterator
    if type(func) is cst.Attribute:
        name = func.attr.value
        base = func.value
        if type(base) is cst.Name and base.value in ("os", "glob") and name in _LISTING_FUNCTIONS:
            return name, iterator
        if name in _LISTING_METHODS and not (type(base) is cst.Name and base.value == "glob"):
            return name, iterator
    return None


# --- loop facts ----------------------------------------------------------------------------------
def counter_names(loop: cst.For) -> set[str]:
    """Target names that count iterations rather than name an item: `epoch` in `for epoch in
    range(n)`, `i` in `for i, x in enumerate(xs)`."""
    iterator, target = loop.iter, loop.target
    if _is_call_to(iterator, "range"):
        return set(fixes.target_names(target))
    if (
        _is_call_to(iterator, "enumerate")
        and type(iterator) is cst.Call
        and iterator.args
        and isinstance(target, (cst.Tuple, cst.List))
        and len(target.elements) == 2
    ):
        counters = set(fixes.target_names(target.elements[0].value))
        if _is_call_to(iterator.args[0].value, "range"):
            counters |= set(fixes.target_names(target.elements[1].value))
        return counters
    return set()


def _is_call_to(node: cst.BaseExpression, name: str) -> bool:
    return type(node) is cst.Call and type(node.func) is cst.Name and node.func.value == name


def literal_items(iterator: cst.BaseExpression) -> Optional[int]:
    """How many items a literal iterable holds (`("a", "b")`, `{"x": p}.items()`,
    `sorted([...])`), None when it is not a literal."""
    if type(iterator) is cst.Call:
        func = iterator.func
        if type(func) is cst.Attribute and func.attr.value in ("items", "keys", "values"):
            iterator = func.value
        elif type(func) is cst.Name and func.value in ("sorted", "list", "tuple", "reversed"):
            if len(iterator.args) != 1:
                return None
            iterator = iterator.args[0].value
    if isinstance(iterator, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        if any(
            isinstance(e, (cst.StarredElement, cst.StarredDictElement)) for e in iterator.elements
        ):
            return None
        return len(iterator.elements)
    return None


def iterates_mapping(iterator: cst.BaseExpression) -> bool:
    """`d.items()`, `d.keys()`, `d.values()`, or a dict literal: a collection of named things."""
    if type(iterator) is cst.Dict:
        return True
    return (
        type(iterator) is cst.Call
        and type(iterator.func) is cst.Attribute
        and iterator.func.attr.value in ("items", "keys", "values")
        and not iterator.args
    )


def derived_names(ctx: FileContext, loop: cst.For, roots: set[str]) -> frozenset[str]:
    """`roots` (names the loop binds) and every name the loop body assigns from an expression
    that uses one of them, transitively (`path = os.path.join(tmp, f"{name}.png")`), not
    looking into nested definitions. Memoised per loop and roots."""
    key = f"derived:{id(loop)}:{','.join(sorted(roots))}"
    return ctx.memo(key, lambda: _derive(loop, roots))  # type: ignore[no-any-return]


def _derive(loop: cst.For, roots: set[str]) -> frozenset[str]:
    names = set(roots)
    bindings: list[tuple[list[str], cst.CSTNode]] = []
    todo: list[cst.CSTNode] = [loop.body]
    while todo:
        node = todo.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if type(node) is cst.Assign:
            targets = [n for t in node.targets for n in fixes.target_names(t.target)]
            bindings.append((targets, node.value))
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
            if node.value is not None:
                bindings.append((fixes.target_names(node.target), node.value))
        elif type(node) is cst.For:
            bindings.append((fixes.target_names(node.target), node.iter))
        elif type(node) is cst.WithItem and node.asname is not None:
            bindings.append((fixes.target_names(node.asname.name), node.item))
        todo.extend(iter_children(node))
    changed = True
    while changed:  # a fixpoint: bindings were collected out of order
        changed = False
        for targets, value in bindings:
            if not names.issuperset(targets) and uses_names(value, names):
                names.update(targets)
                changed = True
    return frozenset(names)


def picks_one(test: cst.BaseExpression, names: frozenset[str]) -> bool:
    """Whether `test` holds for at most one entry: `name == "model.pkl"`, `p.name == best`,
    `os.path.basename(p) == target` (the other side loop-invariant), or a conjunction with one
    such test. `p.suffix == ".png"` is a filter, not a pick."""
    if type(test) is cst.BooleanOperation and type(test.operator) is cst.And:
        return picks_one(test.left, names) or picks_one(test.right, names)
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return False
    comparison = test.comparisons[0]
    if not isinstance(comparison.operator, (cst.Equal, cst.Is)):
        return False
    left, right = test.left, comparison.comparator
    for entry, other in ((left, right), (right, left)):
        if _names_entry(entry, names) and not uses_names(other, names):
            return True
    return False


def _names_entry(node: cst.BaseExpression, names: frozenset[str]) -> bool:
    if type(node) is cst.Name:
        return node.value in names
    if type(node) is cst.Attribute and node.attr.value in _SAME_ENTRY_ATTRIBUTES:
        return _names_entry(node.value, names)
    if type(node) is cst.Call and len(node.args) == 1 and not node.args[0].keyword:
        func = node.func
        name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
        return name in _SAME_ENTRY_FUNCTIONS and _names_entry(node.args[0].value, names)
    return False


def picked_once(ctx: FileContext, node: cst.CSTNode, loop: cst.CSTNode) -> bool:
    """Whether `node` (being visited) sits, below `loop`, in the body of an `if` that picks
    one entry of the loop (see picks_one)."""
    if type(loop) is not cst.For:
        return False
    names = derived_names(ctx, loop, set(fixes.target_names(loop.target)))
    chain = [*ctx.ancestors, node]
    for index in range(len(chain) - 2, -1, -1):
        parent = chain[index]
        if parent is loop:
            return False
        if (
            type(parent) is cst.If
            and chain[index + 1] is parent.body
            and picks_one(parent.test, names)
        ):
            return True
    return False


# --- the rule ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _FileLoop:
    loop: cst.For
    listing: Optional[tuple[str, cst.Call]]  # when the loop iterates a directory listing
    listing_statement: Optional[cst.CSTNode]  # `files = os.listdir(d)` kept in a variable
    directories: bool  # the listing's entries may be directories where they are uploaded
    folder: Optional[str]  # the folder the loop writes the files into, when it is one


@dataclass
class _Upload:
    statement: cst.SimpleStatementLine
    call: cst.Call
    found: ApiCall
    key: tuple[str, str]  # the receiver's code, the run's code: uploads to the same place


class PerFileArtifactUpload(Rule):
    """
    ## What it does
    Off by default; enable it with `--select MLF107` where the artifact store uploads folders
    in one go (see below). Flags files uploaded one `log_artifact` call at a time (fluent, or
    on an `MlflowClient` however the code holds it: a local, an attribute of `self`, a
    property):

    - `log_artifact` on every iteration of a loop over the files: a directory listing
      (`os.listdir`, `os.scandir`, `glob.glob`, `Path.iterdir`, `Path.glob` / `rglob`,
      `os.walk`), also one kept in a variable first, or any other collection of paths or
      names (a list, the items of a dict, files written into a temporary folder one by one),
      when the uploaded path is computed from the loop's item;
    - the same through a function defined in the module that the loop calls (reported at that
      call, naming the chain: `upload -> mlflow.log_artifact`);
    - three or more adjacent `log_artifact` statements to the same run (option `min-calls`).

    ## Why is this bad
    Each `log_artifact` call uploads its file on its own, one after the other: one request
    per file on an `mlflow server` with proxied artifacts, S3, GCS or Azure Blob. One
    `mlflow.log_artifacts(folder, artifact_path)` call uploads a whole folder in parallel on
    Databricks and on the stores built on MLflow's `CloudArtifactRepository` (ADLS Gen2
    `abfss://`, Cloudflare R2 `r2://`, Backblaze B2 `b2://`, which also fetch write
    credentials 50 files at a time), and copies it in one go into a local artifact store; an
    `mlflow server`, S3, GCS and Azure Blob still take one request per file. To cut requests
    on every store, bundle the files into one archive (`shutil.make_archive`) and log that
    one file. A listing entry that is a directory is uploaded by `log_artifact` as a whole
    tree, one request per file in it.

    Why it is off by default: on the stores most teams run (an `mlflow server`, S3, GCS,
    Azure Blob), `log_artifacts(folder)` sends the same one request per file as the loop, so
    the rewrite saves nothing there; and on real code most per-file loops upload a few files
    once per run, or a selection of a folder that `log_artifacts` would not reproduce. Select
    it on Databricks and the other `CloudArtifactRepository` stores, or where many small files
    are uploaded per run and an archive would do.

    ## Fix safety
    Unsafe, and only where provable: a loop whose whole body uploads every entry of one
    directory (`for f in os.listdir(d): mlflow.log_artifact(os.path.join(d, f), A)` or
    `for p in Path(d).iterdir(): mlflow.log_artifact(p, A)`, the listing written in the loop
    or assigned on the statement just before it) to the same `artifact_path` becomes
    `mlflow.log_artifacts(d, artifact_path=A)`, which stores the same tree (subdirectories
    land under their own name in both forms). What differs: files created in the directory
    while the upload runs, and the upload order. Everything else (a loop that filters files,
    a glob pattern, `os.walk`, a list of paths, adjacent calls) is reported without a fix:
    which files belong together is the code's decision.

    ## Not flagged
    - An upload that happens on one iteration only: under an `if` that picks one entry
      (`if name == "model.pkl":`, `if p.name == best:`), or followed by `break` or `return`.
    - A loop over a literal collection of at most three items (`for kind in ("split",
      "gain"):`): a fixed set of distinct named files, a few requests at most.
    - A loop that counts iterations (`for epoch in range(n)`, the index of `enumerate`),
      when only the counter names the upload: a checkpoint or plot uploaded once per epoch
      keeps the run current while it trains, and cannot be bundled with later ones.
    - The same file uploaded again on each iteration (a path that does not change with the
      loop), a `while` loop, and a client call whose run changes with the loop
      (`client.log_artifact(run.info.run_id, ...)` over runs): one file per run.
    - A loop that opens a run per iteration (`with mlflow.start_run():` inside it, or a
      `with` of a context manager named for a run or for MLflow), and a
      helper called in a loop that uploads one fixed file (`mlflow.log_artifact("model.pt")`).
    - Each file of a collection (not a directory listing) uploaded to its own artifact path
      (`log_artifact(path, f"checkpoints/{name}")`, or a helper that computes the artifact
      path): the files are a layout of named
      artifacts (checkpoints, tables the UI shows one by one), not a folder to bundle, and
      bundling them would change where they are stored.
    """

    code = "MLF107"
    name = "per-file-artifact-upload"
    default_enabled = False
    summary = "Files uploaded one `log_artifact` call at a time (opt-in)."
    triggers = frozenset({api.FILE_UPLOAD})
    fix_safety = Safety.UNSAFE
    options = {
        "min-calls": RuleOption(
            int, 3, "Smallest number of adjacent `log_artifact` statements that is reported."
        )
    }

    def setup(self) -> None:
        # calls of local functions in file loops: a helper may upload, decided in finish()
        self._helper_calls: list[tuple[cst.Call, _FileLoop]] = []
        self._reported: set[int] = set()  # ids of the calls reported as per-iteration uploads
        self._loops: set[int] = set()  # ids of the loops reported: one finding per loop
        # `files = os.listdir(d)`, `kinds = ["a", "b"]`: what a name iterated later was
        # assigned (value, statement), per function (or module); a mutation forgets it
        self._iterables: dict[tuple[int, str], tuple[cst.BaseExpression, cst.CSTNode, int]] = {}

    # --- listings and literals kept in a variable ----------------------------------------------
    def _scope_id(self) -> int:
        function = self.ctx.enclosing(cst.FunctionDef)
        return id(function) if function is not None else 0

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if type(target.target) is cst.Name:
                key = (self._scope_id(), target.target.value)
                ancestors = self.ctx.ancestors
                statement = ancestors[-1] if ancestors else node
                block = id(ancestors[-2]) if len(ancestors) > 1 else 0
                self._iterables[key] = (node.value, statement, block)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if type(node.target) is cst.Name:
            self._iterables.pop((self._scope_id(), node.target.value), None)

    def _kept(
        self, loop: cst.For, unconditional: bool = False
    ) -> Optional[tuple[cst.BaseExpression, cst.CSTNode]]:
        """What the name a loop iterates was last assigned in this scope, if anything; with
        `unconditional`, only an assignment in a block that encloses the loop (not one under
        an `if` beside it)."""
        if type(loop.iter) is not cst.Name:
            return None
        kept = self._iterables.get((self._scope_id(), loop.iter.value))
        if kept is None:
            return None
        value, statement, block = kept
        if unconditional and not any(id(node) == block for node in self.ctx.ancestors):
            return None
        return value, statement

    def _listing_of(
        self, loop: cst.For
    ) -> tuple[Optional[tuple[str, cst.Call]], Optional[cst.CSTNode]]:
        found = listing(loop.iter)
        if found is not None:
            return found, None
        kept = self._kept(loop)
        if kept is not None:
            found = listing(kept[0])
            if found is not None:
                return found, kept[1]
        return None, None

    # --- uploads in loops ----------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            type(func) is cst.Attribute
            and type(func.value) is cst.Name
            and func.attr.value in _MUTATORS
        ):
            self._iterables.pop((self._scope_id(), func.value.value), None)
        found = self.ctx.api_call(node)
        if found is None:
            if self.ctx.callee_is_local(node):
                file_loop = self._file_loop(node, node.args, None)
                if file_loop is not None:
                    self._helper_calls.append((node, file_loop))
            return
        if found.name != api.FILE_UPLOAD:
            return
        bound = fixes.bind_arguments(node, found.signature)
        if bound is None or "local_path" not in bound:
            return
        file_loop = self._file_loop(
            node, [bound["local_path"]], bound.get("run_id"), bound.get("artifact_path")
        )
        if file_loop is None:
            return
        self._reported.add(id(node))
        if id(file_loop.loop) in self._loops:
            return  # the loop's first upload is reported: one finding per loop
        self._loops.add(id(file_loop.loop))
        what = f"`{found.qualname}`"
        if file_loop.listing is not None:
            message = f"{what} uploads this directory listing one entry at a time"
        else:
            message = f"{what} in a loop uploads the files one call at a time"
        fixed = self._fix(file_loop, node, found, bound)
        fix, upload = fixed if fixed is not None else (None, None)
        self.report(node, message, help=self._help(node, found, file_loop, upload), fix=fix)

    def _file_loop(
        self,
        node: cst.Call,
        paths: Sequence[cst.Arg],
        run_id: Optional[cst.Arg],
        artifact_path: Optional[cst.Arg] = None,
    ) -> Optional[_FileLoop]:
        """The innermost loop that runs `node` once per file it uploads: a `for` over a
        collection whose items name the files (`paths` are computed from the item), not a
        counter, not a small literal collection, not picking one entry, in one run, to one
        destination (a destination per item is a layout, not a bundle)."""
        for frame in self.ctx.loops(node):
            loop = frame.loop
            if type(loop) is not cst.For:
                continue  # while loops and comprehensions: polling and retries, not files
            targets = set(fixes.target_names(loop.target))
            if run_id is not None and uses_names(
                run_id.value, derived_names(self.ctx, loop, targets)
            ):
                return None  # one upload per run: nothing to bundle
            if frame.at_most_once or picked_once(self.ctx, node, loop):
                continue
            items = derived_names(self.ctx, loop, targets - counter_names(loop))
            if not any(uses_names(arg.value, items) for arg in paths):
                continue
            kept = self._kept(loop, unconditional=True)
            count = literal_items(kept[0] if kept is not None else loop.iter)
            if count is not None and count <= MAX_LITERAL_ITEMS:
                continue
            found_listing, statement = self._listing_of(loop)
            if (
                found_listing is None
                and artifact_path is not None
                and uses_names(artifact_path.value, items)
            ):
                return None  # each file under its own artifact path: distinct destinations
            directories = _may_upload_directories(self.ctx, node, loop, found_listing)
            folder = None
            if found_listing is None and len(paths) == 1:
                folder = _written_into(self.ctx, loop, paths[0].value, items)
            return _FileLoop(loop, found_listing, statement, directories, folder)
        return None

    def finish(self) -> None:
        """Uploads made by helpers defined in this module, called once per file of a loop."""
        for call, file_loop in self._helper_calls:
            if id(file_loop.loop) in self._loops:
                continue
            reached = self.ctx.helper_call(call, _uploads_a_computed_path)
            if reached is None:
                continue
            found, _, chain = reached
            self._loops.add(id(file_loop.loop))
            if file_loop.listing is not None:
                message = f"`{chain} -> {found.qualname}` uploads this listing one entry at a time"
            else:
                message = f"`{chain} -> {found.qualname}` in a loop uploads the files one at a time"
            self.report(call, message, help=self._help(None, found, file_loop, None))

    def _help(
        self,
        node: Optional[cst.Call],
        found: ApiCall,
        file_loop: _FileLoop,
        upload: Optional[str],
    ) -> str:
        """The remedy; `node` is the upload call itself, None when a helper makes it (its
        receiver is the helper's, not one the loop can name)."""
        if upload is not None:  # the fix's own call
            first = f"Upload the directory with one `{upload}` call."
        else:
            folder = file_loop.folder
            upload = _directory_upload(self.ctx, node, found, folder or "folder")
            if folder is not None:
                first = (
                    f"Upload `{folder}`, where the files are written, once after the loop with"
                    f" one `{upload}` call."
                )
            else:
                first = f"Write the files into one folder and upload it with one `{upload}` call."
        entries = ""
        if file_loop.directories:
            entries = " An entry that is a directory is uploaded as a whole tree."
        return f"{first}{_WHY_FOLDER}{entries}"

    def _fix(
        self, file_loop: _FileLoop, call: cst.Call, found: ApiCall, bound: dict[str, cst.Arg]
    ) -> Optional[tuple[PendingFix, str]]:
        """The directory upload that replaces the loop, and its call on one line."""
        loop = file_loop.loop
        if file_loop.listing is None:
            return None
        kind, listing_call = file_loop.listing
        if file_loop.listing_statement is not None and not _just_before(
            self.ctx, file_loop.listing_statement, loop
        ):
            return None
        if fixes.has_comment(loop.with_changes(leading_lines=())):
            return None  # the loop is replaced: its comments would be lost
        body = loop.body.body
        if loop.orelse is not None or len(body) != 1 or type(loop.target) is not cst.Name:
            return None
        statement = body[0]
        if not (
            type(statement) is cst.SimpleStatementLine
            and len(statement.body) == 1
            and type(statement.body[0]) is cst.Expr
            and statement.body[0].value is call
        ):
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
        if type(call.func) is cst.Attribute:
            callee: Optional[str] = f"{self.ctx.code(call.func.value)}.{api.DIRECTORY_UPLOAD}"
        else:
            callee = fixes.fluent_callee(self.ctx, call, api.DIRECTORY_UPLOAD)
        if callee is None:
            return None
        if found.is_client and "run_id" not in rest:
            return None
        # MlflowClient.log_artifacts(run_id, local_dir, ...) / mlflow.log_artifacts(local_dir, ...)
        pairs = [
            (name, self.ctx.code(rest[name].value))
            for name in sorted(rest, key=lambda n: n != "run_id")
        ]
        pairs.insert(1 if found.is_client else 0, ("local_dir", directory))
        arguments = fixes.keywords(pairs)
        code = fixes.call_code(callee, arguments, fixes.current_indent(self.ctx))
        fix = PendingFix(
            f"Upload the directory with one `{callee}` call",
            Safety.UNSAFE,
            [NodeEdit(loop, loop, code)],
        )
        return fix, f"{callee}({', '.join(arguments)})"

    # --- runs of adjacent uploads --------------------------------------------------------------
    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._scan(node.body)

    def leave_Module(self, node: cst.Module) -> None:
        self._scan(node.body)

    def _scan(self, statements: Sequence[cst.BaseStatement]) -> None:
        group: list[_Upload] = []
        for statement in statements:
            upload = self._upload(statement)
            if upload is not None and group and upload.key == group[-1].key:
                group.append(upload)
                continue
            self._finish_group(group)
            group = [upload] if upload is not None else []
        self._finish_group(group)

    def _upload(self, statement: cst.BaseStatement) -> Optional[_Upload]:
        if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
            return None
        expr = statement.body[0]
        if type(expr) is not cst.Expr or type(expr.value) is not cst.Call:
            return None
        call = expr.value
        found = self.ctx.api_call(call)
        if found is None or found.name != api.FILE_UPLOAD:
            return None
        bound = fixes.bind_arguments(call, found.signature)
        if bound is None:
            return None
        receiver = self.ctx.code(call.func.value) if type(call.func) is cst.Attribute else ""
        run = bound.get("run_id")
        key = (receiver, self.ctx.code(run.value) if run is not None else "")
        return _Upload(statement, call, found, key)

    def _finish_group(self, group: list[_Upload]) -> None:
        if len(group) < self.option_values["min-calls"]:
            return
        if any(id(upload.call) in self._reported for upload in group):
            return  # already reported as uploads per iteration of a loop
        first, last = group[0], group[-1]
        upload = _directory_upload(self.ctx, first.call, first.found)
        self.report(
            first.call,
            f"{len(group)} adjacent `{first.found.qualname}` calls upload one file each",
            help=f"Write the files into one folder and upload it with one `{upload}` call."
            + _WHY_FOLDER,
            end_node=last.call,
        )


_WHY_FOLDER = (
    " Databricks and other cloud stores then upload in parallel; an `mlflow server`, S3, GCS"
    " and Azure Blob still take one request per file, so to cut requests everywhere log one"
    " archive (`shutil.make_archive`)."
)


def _may_upload_directories(
    ctx: FileContext, node: cst.Call, loop: cst.For, found: Optional[tuple[str, cst.Call]]
) -> bool:
    """Whether the listing's entries can be directories at the upload (`node`, being visited
    in `loop`): not `os.walk`'s files, not a glob for names with a suffix (`*.png`), not under
    a test for files."""
    if found is None or found[0] not in _ENTRY_LISTINGS:
        return False
    kind, call = found
    if kind in ("glob", "iglob", "rglob"):
        patterns = [_literal_tail(arg.value) for arg in call.args if not arg.keyword]
        if any(p is not None and "." in p.rsplit("/", 1)[-1] for p in patterns):
            return False
    chain = [*ctx.ancestors, node]
    start = next((i for i, n in enumerate(chain) if n is loop), len(chain))
    return not any(
        type(parent) is cst.If and _tests_for_files(parent.test) for parent in chain[start:]
    )


def _literal_tail(node: cst.BaseExpression) -> Optional[str]:
    """The literal end of a string (`"out/*.png"`, `f"{d}/*.png"`), where a glob's suffix is."""
    if type(node) is cst.FormattedString and node.parts:
        last = node.parts[-1]
        return last.value if type(last) is cst.FormattedStringText else None
    return fixes.literal_string(node)


def _tests_for_files(test: cst.BaseExpression) -> bool:
    """`p.is_file()`, `os.path.isfile(p)`, `name.endswith(".png")`, `p.suffix in {...}`."""
    todo: list[cst.CSTNode] = [test]
    while todo:
        node = todo.pop()
        if type(node) is cst.Attribute and node.attr.value in _FILE_TESTS:
            return True
        if type(node) is cst.Name and node.value in _FILE_TESTS:
            return True
        todo.extend(iter_children(node))
    return False


def _directory_upload(
    ctx: FileContext, call: Optional[cst.Call], found: ApiCall, folder: str = "folder"
) -> str:
    """The directory upload in the call's own spelling: `self.client.log_artifacts(run_id,
    folder, artifact_path)`, `mlflow.log_artifacts(folder, artifact_path)`; `client` or
    `mlflow` without the call."""
    receiver = "client" if found.is_client else "mlflow"
    if call is not None and type(call.func) is cst.Attribute:
        receiver = ctx.code(call.func.value)
    if found.is_client:
        return f"{receiver}.{api.DIRECTORY_UPLOAD}(run_id, {folder}, artifact_path)"
    return f"{receiver}.{api.DIRECTORY_UPLOAD}({folder}, artifact_path)"


def _written_into(
    ctx: FileContext, loop: cst.For, path: cst.BaseExpression, items: frozenset[str]
) -> Optional[str]:
    """The loop-invariant folder each uploaded file is named in (`os.path.join(tmp, name)`,
    `tmp / name`, `f"{tmp}/{name}"`), directly or through a name the loop body assigns."""
    if (
        type(path) is cst.Call
        and len(path.args) == 1
        and ctx.code(path.func)
        in (
            "str",
            "os.fspath",
        )
    ):
        path = path.args[0].value
    if type(path) is cst.Name:
        assigned = _assigned_in(loop, path.value)
        if assigned is None:
            return None
        path = assigned
    folder: Optional[cst.BaseExpression] = None
    if type(path) is cst.Call and ctx.code(path.func) in ("os.path.join", "join"):
        if len(path.args) == 2 and not any(a.star or a.keyword for a in path.args):
            folder = path.args[0].value
    elif type(path) is cst.BinaryOperation and type(path.operator) is cst.Divide:
        folder = path.left
    elif type(path) is cst.FormattedString and len(path.parts) >= 2:
        head, second = path.parts[0], path.parts[1]
        if (
            type(head) is cst.FormattedStringExpression
            and type(second) is cst.FormattedStringText
            and second.value.startswith("/")
        ):
            folder = head.expression
    if folder is None or uses_names(folder, items) or not fixes.is_pure(folder):
        return None
    if uses_names(folder, fixes.loop_bound_names(loop)):
        return None  # a folder made in each iteration (`with TemporaryDirectory() as d:`)
    return ctx.code(folder)


def _assigned_in(loop: cst.For, name: str) -> Optional[cst.BaseExpression]:
    """The value of the one plain assignment to `name` in the loop body, if there is one."""
    values: list[cst.BaseExpression] = []
    todo: list[cst.CSTNode] = [loop.body]
    while todo:
        node = todo.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if type(node) is cst.Assign and any(
            name in fixes.target_names(t.target) for t in node.targets
        ):
            values.append(node.value)
        todo.extend(iter_children(node))
    return values[0] if len(values) == 1 else None


def _uploads_a_computed_path(found: ApiCall, call: cst.Call) -> bool:
    """A helper's `log_artifact` of a path it is given or computes (not one fixed file), to
    one destination: an artifact path the helper computes names a place per item."""
    if found.name != api.FILE_UPLOAD:
        return False
    bound = fixes.bind_arguments(call, found.signature)
    if bound is None or "local_path" not in bound:
        return False
    destination = bound.get("artifact_path")
    if destination is not None and not (
        fixes.literal_string(destination.value) is not None
        or (type(destination.value) is cst.Name and destination.value.value == "None")
    ):
        return False
    return fixes.literal_string(bound["local_path"].value) is None


def _just_before(ctx: FileContext, statement: cst.CSTNode, loop: cst.For) -> bool:
    """Whether `statement` is the statement right before `loop` in its block."""
    index = next((i for i, node in enumerate(ctx.ancestors) if node is loop), 0)
    body: Sequence[cst.CSTNode] = getattr(ctx.ancestors[index - 1], "body", ()) if index else ()
    for previous, current in zip(body, body[1:]):
        if current is loop:
            return previous is statement
    return False


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
            type(path) is cst.Call
            and code(path.func) in ("os.path.join", "path.join", "join")
            and len(path.args) == 2
            and code(path.args[0].value) == code(directory)
            and type(path.args[1].value) is cst.Name
            and path.args[1].value.value == target
        ):
            return code(directory)
    if kind == "iterdir" and type(listing_call.func) is cst.Attribute and not listing_call.args:
        entry = path
        if (
            type(entry) is cst.Call
            and code(entry.func) in ("str", "os.fspath")
            and len(entry.args) == 1
        ):
            entry = entry.args[0].value
        if type(entry) is cst.Name and entry.value == target:
            return code(listing_call.func.value)
    return None
