from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from mlflow_lint import fixes, frequency
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import (
    COMPREHENSION_TYPES,
    FileContext,
    FunctionSummary,
    LoopFrame,
    bound_spellings,
    contains,
    is_test_code,
    iter_children,
    loop_nodes,
    parameter_names,
    spelling,
)
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.loop_calls import LoopCallRule, documents_paced

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
RULE_KEY = "rule:MLF201"  # FileContext.memo key under which the rule's instance is found


@dataclass(frozen=True)
class ReadFinding:
    message: str
    help: str
    # a fetch of every item before the loop: it replaces all the loop's reads it advises
    # for, so the loop gets one such finding (a hoisted read moves that call alone)
    fetches_all: bool = False


@documents_paced
class TrackingReadInLoop(LoopCallRule):
    """
    ## What it does
    Off by default; enable it with `--extend-select MLF201` (or `extend-select =
    ["MLF201"]` in `[tool.mlflow-lint]`). Flags read-path tracking calls (`get_run`,
    `search_runs`, `get_experiment_by_name`,
    `set_experiment`, `MlflowClient.get_metric_history` and every other `MlflowClient.get_*`
    that sends a request) made on every iteration of a loop (a `for` or `while` loop, or a
    comprehension), directly or through functions defined in the same module, where a
    better shape exists. The advice follows the code:

    - the call's arguments do not change in the loop: call it once before the loop;
    - a different run, experiment, model or trace on each iteration: fetch them all with the
      batched read MLflow has (`search_runs` with `attributes.run_id IN (...)`,
      `search_experiments` with `experiment_id IN (...)` from MLflow 3.17 on (earlier,
      one `search_experiments()` picked by id), `search_registered_models` /
      `search_model_versions` with `name IN (...)`, `search_logged_models` with `model_id IN
      (...)`, `search_traces` with `trace.request_id IN (...)`);
    - an experiment looked up by a different name on each iteration: one
      `search_experiments()` call, picking them by name (its filter has no `name IN (...)`
      and no `OR`);
    - `get_run` of each run a `search_runs` returned, in a loop over that result: the search
      already holds every run it found (info, latest metrics, params, tags; the columns of
      `mlflow.search_runs`'s DataFrame): read them from the loop's item;
    - `get_metric_history(...)[-1]`: MLflow has no batched history read, but the latest value
      of every metric is in `run.data.metrics`;
    - a loop that reads the same thing until the result lets it stop, without waiting: wait
      between reads.

    When the helper that reads also builds an `MlflowClient()` on every call, this finding
    says so, and MLF202 does not report that call a second time. A loop gets one finding per
    remedy: `get_run(run_id)` in each branch of an `if` (or `get_run` and `get_parent_run`,
    which the same `search_runs` replaces) is reported at its first read only.

    ## Why is this bad
    Each call is one request and one database query: the N+1 pattern. Looping `get_run` over
    100 run ids is 100 round trips (measured: 10 `get_run` calls made 10 GET requests), and
    `set_experiment` does a lookup on every call. Read load like this is what makes tracking
    databases need read replicas.

    Why it is off by default: on real code (PyPI packages that use MLflow, hand-judged in
    two fresh samples), 3 of 27 of its findings were worth acting on. Most loops that read
    per item run once per command, listing or fit, over the few runs, models or names a user
    picked, often beside heavier work; the N+1 that costs (an Optuna sampler re-reading
    every trial on each trial, an export walking every model version of a workspace) is
    real but rare. Turn it on to audit a tool or a service that reads runs in bulk.

    ## Fix safety
    No automatic fix: the single query returns a different shape (a DataFrame or a list of
    runs) that the loop body has to be adapted to.

    ## Not flagged
    {paced}

    - Test code (`test_*.py`, `*_test.py`, `conftest.py`, files under a `tests/` folder):
      reading back, one by one, the few runs a test just logged is not worth a batched query.
    - Reads with no batched form, made for a different item on each iteration
      (`get_metric_history` over keys or runs, `get_model_version_by_alias`, `get_dataset`):
      there is nothing better to advise than the loop itself.
    - Pagination: the call passes `page_token=` a name or attribute that the loop assigns
      (`token = page.token`), or a parameter of the function making it (its caller may
      advance it). A `page_token` the loop never advances (`page_token=None`) is flagged.
    - A `while` loop that stops on what the read returns and reads something different each
      time (`while name_taken(name): name = new_name()`): it retries until it succeeds,
      usually once.
    - Experiments looked up by the names a function is handed (a loop over a parameter or an
      attribute of `self`, passing its variable, alone or in an f-string: `for name in
      experiment_names: client.get_experiment_by_name(name)`): the experiments a caller
      picked, usually a handful, while the only batched form lists every experiment of the
      workspace. Names read from records (`run.data.tags[...]`, a copy tool walking a
      listing) are still flagged.
    - Loops over a written-out list, tuple, set or dict of three items or fewer (`for
      split in ("train", "test")`): a fixed handful of requests.
    - A loop over a name that the same block has just bound to a written-out list of one
      item (`run_ids = ["ecc6f58b..."]`, then `for run_id in run_ids:`, as notebooks pick a
      run): one iteration. Two or more items are flagged, like any list that may grow.
    - Reads on a cache miss that fill the cache (`if key not in cache: cache[key] =
      client.get_experiment(key)`, or the `else` of `if key in cache:`): one request per
      distinct item, already the remedy for repeated lookups.
    - Calls that run on one iteration at most: an unconditional `break`, `return` or `raise`
      follows the call, or the call is in it; or it is under `if i == best:` (the loop's
      variable, or a counter it steps, against something the loop does not change) or a
      first-time guard (`if self._run is None:` whose body sets `self._run`). Calls in an
      `except` handler: they run when an iteration fails, not on every one.
    - Calls under `if step % N == 0:` and other throttles.
    - The same read repeated in a loop that creates, deletes or moves what it reads (`while
      client.search_registered_models(): ... client.delete_registered_model(name)`): it
      re-reads to see its own changes.
    - Reads a helper makes only when a parameter is None (`if experiment_id is None:
      experiment_id = lookup()`, `experiment_id or lookup()`) where the loop passes it.
    - A read whose result feeds tracking work of its own in the same iteration: a nested
      loop over it that makes tracking calls (`runs = client.search_runs([e.experiment_id])`
      then `for run in runs: client.get_metric_history(...)`), or a function of the module
      given it (or given the client) that makes them (`run = client.get_run(rid)` then
      `self._process_run(run)`): one request beside several, which the other rules report
      where they can be batched.
    - A read beside heavy work in the same iteration: the loop also downloads or uploads
      artifacts, loads, logs or registers a model, creates a run (a copy tool) or runs
      `evaluate` (directly or through the functions of the module it calls, a flavor's
      `mlflow.pyfunc.load_model` included), or makes any other call named for moving data
      or training (`s3.download_file`, `import_model_version`, `paginate`, `trainer.fit`,
      `subprocess.run`): the read is a small share of what each iteration costs. Flagged
      still when the loop can `continue` after the read and before that work (a sync tool
      that skips what already exists: its iterations may be the reads; a `continue` before
      the read skips both), or when that work sits under an `if` that holds on one
      iteration at most (`if run_id == best:`).
    - A read handed what an MLflow `create_*` call of the same iteration returned
      (`experiment_id = mlflow.create_experiment(name)`, then
      `mlflow.set_experiment(experiment_id=experiment_id)`): nothing can be fetched before
      the loop for what the loop creates.
    - A search per item for everything under it, in big pages and with no filter
      (`client.search_runs([exp.experiment_id], max_results=10000)` per experiment): an
      export's listing, whose cost is the results it transfers, not the request count; a
      merged search would also cap the results of all items together instead of per item.
    - Inside the `mlflow` package's own source, a call of one of its public functions that
      is not itself a read (`set_experiment_tag` in a loop): what the API does inside is
      MLflow's business, as it is when user code calls it.
    """

    holds_written_out_loops = False  # a written-out handful is three items for reads
    code = "MLF201"
    name = "tracking-read-in-loop"
    summary = (
        "A tracking read (`get_run`, `search_runs`, `MlflowClient.get_*`) per"
        " loop iteration: N+1 requests (opt-in)."
    )
    triggers = api.FLUENT_READS | api.CLIENT_READS
    default_enabled = False
    same_run_only = False

    def setup(self) -> None:
        super().setup()
        # id(call) -> whether a loop advances its page_token, decided during the walk (calls in
        # helpers are checked again after it, when their ancestors are gone)
        self._paginated: dict[int, bool] = {}
        # id(helper call in a loop) -> what this rule finds there (MLF202 asks, in finish),
        # and the id of the read the finding is about
        self._helper_findings: dict[int, Optional[ReadFinding]] = {}
        self._reads: dict[int, int] = {}
        self._direct: list[tuple[cst.Call, ApiCall, list[LoopFrame], str]] = []
        # history reads whose result the loop uses only for its last item (seen in the walk)
        self._latest_only: set[int] = set()
        # loops over the names a function is handed (seen in the walk, with their function)
        self._given_names: set[int] = set()
        self.ctx.memo(RULE_KEY, lambda: self)

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        if not api.is_read(found):
            return False
        paginated = self._paginated.get(id(call))
        if paginated is None:
            paginated = self._paginated[id(call)] = _advances_page_token(self.ctx, call)
        return not paginated

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        if self.ctx.memo("read_in_loop.test_code", lambda: is_test_code(self.ctx.path)):
            return []
        frames = super().frames(node)  # polls and prompts left out there
        if frames and _fills_cache_on_miss(self.ctx, frames[0].loop):
            return []
        if frames and _walks_given_collection(self.ctx, frames[0].loop):
            self._given_names.add(id(frames[0].loop))
        if frames and type(node) is cst.Call:
            found = self.ctx.api_call(node)
            if (  # decided while the ancestors are known
                found is not None
                and found.name == "get_metric_history"
                and _uses_last_item_only(self.ctx, node, frames[0].loop)
            ):
                self._latest_only.add(id(node))
        return frames

    def requests_only(
        self, found: Optional[ApiCall], call: cst.Call, frames: list[LoopFrame]
    ) -> bool:
        return False  # a read per entry has its own exemptions (see Not flagged)

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        # decided in finish(): whether the loop changes what it reads needs every call of the
        # loop resolved, and the walk has not reached those after this one yet
        self._direct.append((node, found, frames, via))

    def finish(self) -> None:
        # one finding per loop and remedy: `get_run(run_id)` in each branch of an `if` is one
        # problem, fixed by the one fetch before the loop the first finding advises
        advised: set[tuple[int, str]] = set()
        for node, found, frames, via in self._direct:
            finding = self._finding(node, found, node, frames, via)
            if finding is not None and not _advised(advised, frames[0].loop, finding):
                self.report(node, finding.message, help=finding.help)
        for node, frames in self._helper_calls:
            if id(node) not in self._helper_findings:
                self._decide_helper_call(node, frames)
        decided = {
            id(node): (node, self._helper_findings[id(node)])
            for node, _ in self._helper_calls
            if self._helper_findings.get(id(node)) is not None
        }
        sites = {key: (node, self._reads[key]) for key, (node, _) in decided.items()}
        echoes = echo_sites(self.ctx, sites)
        loops = {id(node): frames[0].loop for node, frames in self._helper_calls}
        for key, (node, finding) in decided.items():
            if (
                key not in echoes
                and finding is not None
                and not _advised(advised, loops[key], finding)
            ):
                self.report(node, finding.message, help=finding.help)

    def helper_finding(self, node: cst.Call) -> Optional[ReadFinding]:
        """What this rule finds at `node`, a call in a loop of a function defined in this file
        (reported there, or deeper in the chain when `node` only echoes a loop inside the
        helper); None when nothing. Call only once the walk ended."""
        if id(node) not in self._helper_findings:
            for candidate, frames in self._helper_calls:
                if candidate is node:
                    self._decide_helper_call(node, frames)
                    break
        return self._helper_findings.get(id(node))

    def _decide_helper_call(self, node: cst.Call, frames: list[LoopFrame]) -> None:
        self._helper_findings[id(node)] = None
        if public_mlflow_function(self.ctx, node, reads=False):
            return  # like a user's call of that API: not a read
        helper = self.ctx.local_function(node)
        if helper is None:
            return
        for found, call, chain in self.ctx.reachable_api_calls(helper, site=node):
            if not self.wanted(found, call) or id(call) in self._flagged:
                continue
            via = " -> ".join((*chain, found.qualname))
            finding = self._finding(node, found, call, frames, via)
            if finding is not None:
                self._helper_findings[id(node)] = finding
                self._reads[id(node)] = id(call)
                return

    def _finding(
        self,
        node: cst.Call,
        found: ApiCall,
        read: cst.Call,
        frames: list[LoopFrame],
        via: str,
    ) -> Optional[ReadFinding]:
        """`node` is the call in the loop; `read` the MLflow read (the same node, or one in
        the helper that `node` calls, reached through `via`)."""
        what = f"`{via}`" if via else f"`{found.qualname}`"
        stops = _decides_exit(frames[0].loop, node)
        # the arguments at the loop that the read depends on
        arguments = self._arguments_read(node, read) if via else list(node.args)
        # how many loops, innermost first, repeat exactly the same request
        same = 0
        for frame in frames:
            varying = self.ctx.loop_varying(frame.loop)
            if not all(self.ctx.invariant(arg.value, varying) for arg in arguments):
                break
            same += 1
        if same and any(self._rewrites(found, node, frame.loop, via) for frame in frames[:same]):
            return None  # re-reads to see what the loop itself changed
        if same and stops:
            return ReadFinding(
                f"{what} polls in a loop without waiting between requests",
                "Wait between reads (`time.sleep(interval)`, `event.wait(interval)`), or "
                "react to the change another way than by re-reading it in a tight loop",
            )
        if type(frames[0].loop) is cst.While and stops:
            return None  # retries with a new value until the read lets it stop
        helper = self.ctx.local_function(node) if via else None
        if _beside_heavy_work(self.ctx, frames[0].loop, read, node) or (
            helper is not None and _beside_heavy_work(self.ctx, helper.node, read)
        ):
            return None  # a transfer or evaluation per iteration dwarfs the read
        if _reads_what_it_created(self.ctx, frames[0].loop, read) or (
            helper is not None and _reads_what_it_created(self.ctx, helper.node, read)
        ):
            return None  # created in the same iteration: nothing to fetch before the loop
        if same:
            where = (
                "the loop"
                if same == len(frames) == 1
                else f"the `{self.ctx.loop_label(frames[same - 1].loop)}` loop"
            )
            return ReadFinding(
                f"{what} {self.loops_phrase(frames[:same])} repeats the same request on every "
                "iteration",
                f"Its arguments do not change in the loop: call it once before {where} and "
                "reuse the result",
            )
        message = (
            f"{what} {self.loops_phrase(frames)} sends one tracking request per iteration (N+1)"
        )
        if not via and _fans_out(self.ctx, frames[0].loop, node):
            return None  # the per-item requests of the inner loop dwarf this one
        if _bulk_listing(found, read):
            return None  # a page of everything per item: the payload, not the count, costs
        if id(frames[0].loop) in self._given_names and _by_given_name(found, read, node, frames):
            return None  # the experiments a caller picked: listing them all costs more
        if not via and found.name == "get_run" and _refetches_searched_run(self.ctx, read, frames):
            return ReadFinding(
                message,
                "The loop walks the result of `search_runs`, which already holds every run "
                "it found (`run.info`, `run.data.metrics`, `.params`, `.tags`; for "
                "`mlflow.search_runs`'s DataFrame, its `metrics.*`, `params.*`, `tags.*` "
                "and `artifact_uri` columns): read them from the loop's item instead of "
                "fetching each run again",
                fetches_all=True,
            )
        advice = self._batch_advice(node, found, frames, via)
        if advice is None:
            if found.name != "get_metric_history" or via or id(node) not in self._latest_only:
                return None  # no batched form, and a new item each time: nothing better
            return ReadFinding(
                f"{what} {self.loops_phrase(frames)} reads a whole history for its last value",
                "MLflow has no batched history read, but the latest value of every metric is "
                "in `run.data.metrics`: one `get_run` per run, or one `mlflow.search_runs(...)` "
                "for many runs",
            )
        builder = self._client_builder(node) if via else None
        if builder is not None:
            advice += (
                f". `{builder}` also builds an `MlflowClient()` on every call: create one "
                "before the loop and pass it in"
            )
        return ReadFinding(message, advice, fetches_all=True)

    def _starts_runs(self, loop: cst.CSTNode) -> bool:
        """Whether the loop body starts runs itself (`mlflow.start_run(...)`)."""
        todo: list[cst.CSTNode] = [loop]
        while todo:
            node = todo.pop()
            if type(node) is cst.Call:
                called = self.ctx.api_call(node)
                if called is not None and not called.is_client and called.name == api.START_RUN:
                    return True
            todo.extend(iter_children(node))
        return False

    def _batch_advice(
        self, node: cst.Call, found: ApiCall, frames: list[LoopFrame], via: str
    ) -> Optional[str]:
        if found.name in api.EXPERIMENT_LOOKUPS:
            search = (
                "MlflowClient().search_experiments()"
                if found.is_client
                else "mlflow.search_experiments()"
            )
            advice = (
                f"Fetch the experiments with one `{search}` call before the loop and pick them "
                "by name: its filter_string has no `name IN (...)`"
            )
            if found.name == "set_experiment" and self._starts_runs(frames[0].loop):
                advice += ", then pass `experiment_id=` to `mlflow.start_run`"
            return advice
        if found.name == "search_runs":
            return (
                "Fetch the runs with one `search_runs` call before the loop (`experiment_ids` "
                "takes a list; `filter_string` supports `IN` for `attributes.run_id` only) and "
                "pick from its results"
            )
        if found.name.startswith(api.SEARCH_PREFIX):
            return (
                f"Fetch what the loop needs with one broader `{found.name}` call before the "
                "loop and pick from its results"
            )
        batch = api.read_batch_form(found)
        if batch is None:
            return None
        since = api.READ_BATCH_SINCE.get(found.name)
        if since is not None:
            return (
                f"Fetch them all in one request before the loop: `{batch}` (MLflow {since} "
                "and later; before it, one `search_experiments()` and pick them by id)"
            )
        return f"Fetch them all in one request before the loop: `{batch}`"

    def _arguments_read(self, node: cst.Call, read: cst.Call) -> list[cst.Arg]:
        """The arguments of `node` (a call of a local function) that `read` depends on, when
        `read` is made by that function itself and reads only its parameters, attributes of
        `self` and names from outside; all of them otherwise."""
        helper = self.ctx.local_function(node)
        if helper is None or not any(call is read for _, call in helper.api_calls):
            return list(node.args)
        params = [*helper.node.params.posonly_params, *helper.node.params.params]
        if type(helper.node.params.star_arg) is cst.Param or helper.node.params.star_kwarg:
            return list(node.args)
        if type(node.func) is cst.Attribute and params and params[0].name.value == "self":
            params = params[1:]
        names = {param.name.value for param in params}
        names |= {param.name.value for param in helper.node.params.kwonly_params}
        used = _names_read(read)
        if used & _assigned_in_function(helper.node):
            return list(node.args)  # a local that may hold anything derived from the arguments
        wanted: list[cst.Arg] = []
        for index, arg in enumerate(node.args):
            if arg.star:
                return list(node.args)
            name = (
                arg.keyword.value
                if arg.keyword is not None
                else (params[index].name.value if index < len(params) else None)
            )
            if name is None or (name in names and name in used):
                wanted.append(arg)
        return wanted

    def _rewrites(self, read: ApiCall, node: cst.Call, loop: cst.CSTNode, via: str) -> bool:
        """Whether an iteration of `loop` (or the helper that `node` calls) changes what `read`
        returns: it creates, deletes or moves what reads list or look up, or, for a run read,
        logs to runs (a read-modify-write of a tag, say)."""
        calls = list(self._loop_api_calls(loop))
        if via:
            helper = self.ctx.local_function(node)
            if helper is not None:
                calls += [found for found, _, _ in self.ctx.reachable_api_calls(helper, site=node)]
        run_read = read.name in api.RUN_READS
        return any(
            api.changes_state(call) or (run_read and call.name in api.RUN_WRITES) for call in calls
        )

    def _loop_api_calls(self, loop: cst.CSTNode) -> list[ApiCall]:
        def compute() -> list[ApiCall]:
            found: list[ApiCall] = []
            todo: list[cst.CSTNode] = [loop]
            while todo:
                current = todo.pop()
                if isinstance(current, _SCOPES):
                    continue
                if type(current) is cst.Call:
                    call = self.ctx.api_call(current)
                    if call is not None:
                        found.append(call)
                todo.extend(iter_children(current))
            return found

        calls: list[ApiCall] = self.ctx.memo(f"loop-api-calls:{id(loop)}", compute)
        return calls

    def _client_builder(self, node: cst.Call) -> Optional[str]:
        if public_mlflow_function(self.ctx, node, reads=True):
            return None  # its callers cannot pass it a client
        built = self.ctx.helper_call(node, _builds_client, own_runs=True)
        return built[2] if built is not None else None


def echo_sites(ctx: FileContext, sites: dict[int, tuple[cst.Call, int]]) -> set[int]:
    """Of the helper calls in loops that reach the same MLflow call (`sites`: id(site) ->
    (site, id(MLflow call))), those that only echo another: the other site is in a loop
    inside a function the first one calls (`for m in models: versions_of(m)` where
    `versions_of` loops over `read_version(v)`). One finding, at the loop that matters: the
    innermost. Call only once the walk ended."""
    by_target: dict[int, list[cst.Call]] = {}
    for site, target in sites.values():
        by_target.setdefault(target, []).append(site)
    echoes: set[int] = set()
    for group in by_target.values():
        if len(group) < 2:
            continue
        for site in group:
            reached = _functions_reached(ctx, site)
            if any(
                other is not site and any(contains(fn.node, other) for fn in reached)
                for other in group
            ):
                echoes.add(id(site))
    return echoes


def _functions_reached(ctx: FileContext, site: cst.Call, depth: int = 3) -> list[FunctionSummary]:
    found: list[FunctionSummary] = []
    seen: set[int] = set()
    todo = [(ctx.local_function(site), 1)]
    while todo:
        fn, level = todo.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        found.append(fn)
        if level < depth:
            todo.extend((ctx.functions.get(key), level + 1) for key, _ in fn.helper_calls)
    return found


def _builds_client(found: ApiCall, call: cst.Call) -> bool:
    return not found.is_client and found.name == api.CLIENT


def in_mlflow_package(path: str) -> bool:
    """Whether `path` is a module of the `mlflow` package itself (its source tree or an
    installed copy): a directory named `mlflow` holds it."""
    parts = os.path.normpath(path).replace("\\", "/").split("/")
    return "mlflow" in parts[:-1]


def public_mlflow_function(ctx: FileContext, node: cst.Call, reads: bool) -> bool:
    """Whether `node` calls a public function (or method) of the `mlflow` package from inside
    that package: an API a user would call without seeing inside it. With `reads=False`, only
    those that are not themselves reads (`get_run` calling `get_run` is still a read)."""
    if not in_mlflow_package(ctx.path):
        return False
    helper = ctx.local_function(node)
    if helper is None or helper.name.startswith("_"):
        return False
    if reads:
        return True
    as_api = (ApiCall(helper.name, is_client=False), ApiCall(helper.name, is_client=True))
    return not any(api.is_read(call) for call in as_api)


def _fills_cache_on_miss(ctx: FileContext, loop: cst.CSTNode) -> bool:
    """Whether the node being visited is on the miss branch of a cache test inside `loop`:
    the body of `if key not in cache:` or the `else` of `if key in cache:`, a branch that
    stores into that cache (`cache[key] = ...`). Call during the walk."""
    chain = ctx.ancestors
    for index in range(len(chain) - 1, 0, -1):
        parent, child = chain[index - 1], chain[index]
        if parent is loop:
            return False
        if type(parent) is not cst.If:
            continue
        test = parent.test
        if not (type(test) is cst.Comparison and len(test.comparisons) == 1):
            continue
        operator = test.comparisons[0].operator
        branch: Optional[cst.CSTNode] = None
        if type(operator) is cst.NotIn and child is parent.body:
            branch = parent.body
        elif type(operator) is cst.In and child is parent.orelse:
            branch = parent.orelse
        cache = spelling(test.comparisons[0].comparator)
        if branch is not None and cache is not None and _stores_into(branch, cache):
            return True
    return False


def _stores_into(branch: cst.CSTNode, cache: str) -> bool:
    todo = [branch]
    while todo:
        current = todo.pop()
        if type(current) is cst.Assign:
            for target in current.targets:
                value = target.target
                if type(value) is cst.Subscript and spelling(value.value) == cache:
                    return True
        todo.extend(iter_children(current))
    return False


def _fans_out(ctx: FileContext, loop: cst.CSTNode, read: cst.Call) -> bool:
    """Whether what `read` returns feeds tracking work of its own in the same iteration: a
    nested loop over it that makes tracking calls (`runs = client.search_runs(e.id)` then
    `for run in runs: client.get_metric_history(...)`), or a function of this file given it
    that does (`run = client.get_run(rid)` then `self._process_run(run)`, which reads every
    metric history): the read is one request beside those."""
    body = getattr(loop, "body", None)
    if body is None:
        return False
    bound: set[str] = set()
    inner: list[cst.For] = []
    helper_calls: list[cst.Call] = []
    todo: list[cst.CSTNode] = [body]
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES):
            continue
        if type(node) is cst.Assign and node.value is read:
            bound.update(n for t in node.targets for n in _names_in(t.target))
        elif type(node) is cst.For:
            inner.append(node)
        elif type(node) is cst.Call and ctx.callee_is_local(node):
            helper_calls.append(node)
        todo.extend(iter_children(node))

    def given(expression: cst.CSTNode) -> bool:  # the result, or a name bound to it
        return contains(expression, read) or _reads_any(expression, bound)

    return any(given(loop_.iter) and _tracks(ctx, loop_.body) for loop_ in inner) or any(
        any(given(arg.value) for arg in call.args) and _tracks(ctx, call, read)
        for call in helper_calls
    )


def _walks_given_collection(ctx: FileContext, loop: cst.CSTNode) -> bool:
    """Whether `loop` walks what its function was handed: a parameter (`for name in
    experiment_names` in `def load(experiment_names)`) or an attribute of `self`."""
    iterable = frequency.collection(loop)
    if type(iterable) is cst.Attribute:
        return type(iterable.value) is cst.Name and iterable.value.value == "self"
    if type(iterable) is not cst.Name:
        return False
    function = ctx.enclosing(cst.FunctionDef)
    if type(function) is not cst.FunctionDef:
        return False
    return iterable.value in parameter_names(function) - {"self", "cls"}


def _by_given_name(found: ApiCall, read: cst.Call, node: cst.Call, frames: list[LoopFrame]) -> bool:
    """Whether `read` looks an experiment up by the name the loop walks (`name`, or
    `f"{name}_eval"`): `node` (the read, or the call in the loop that leads to it) passes a
    name spelled from the loop's variables alone."""
    if found.name not in api.EXPERIMENT_LOOKUPS:
        return False
    if any(arg.keyword is not None and arg.keyword.value == "experiment_id" for arg in read.args):
        return False  # `set_experiment(experiment_id=...)`: by id, which has a batched read
    loop = frames[0].loop
    if type(loop) is cst.For:
        target = loop.target
    elif isinstance(loop, COMPREHENSION_TYPES):
        target = loop.for_in.target
    else:
        return False  # a `while` loop walks nothing
    targets = set(fixes.target_names(target))
    return any(_spelled_from(arg.value, targets) for arg in node.args)


def _spelled_from(expression: cst.BaseExpression, names: set[str]) -> bool:
    """Whether `expression` is built from `names` and literals alone: `name`,
    `f"{name}_eval"`, `prefix + name` with a literal prefix (no attribute, item or call)."""
    found = False
    todo: list[cst.CSTNode] = [expression]
    while todo:
        node = todo.pop()
        if type(node) is cst.Name:
            if node.value not in names:
                return False
            found = True
        elif isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
            return False
        todo.extend(iter_children(node))
    return found


def _bulk_listing(found: ApiCall, read: cst.Call) -> bool:
    """A search for everything under each item, in big pages (`search_runs([exp_id],
    max_results=10000)` with no filter): an export's listing, whose cost is the results it
    transfers; one merged search would also cap them all together, not per item."""
    if not found.name.startswith(api.SEARCH_PREFIX):
        return False
    keywords = {arg.keyword.value: arg.value for arg in read.args if arg.keyword is not None}
    positional = [arg for arg in read.args if arg.keyword is None]
    if "filter_string" in keywords or len(positional) > 1:  # a filter: a few results each
        return False
    size = keywords.get("max_results")
    return type(size) is cst.Integer and int(size.value.replace("_", "")) >= 1000


# How a loop walks the rows of a search's DataFrame: `for _, row in runs_df.iterrows()`,
# `for row in df.itertuples()`.
_ROW_VIEWS = frozenset({"iterrows", "itertuples"})


def _refetches_searched_run(ctx: FileContext, read: cst.Call, frames: list[LoopFrame]) -> bool:
    """`get_run` of the run id of each item of a `search_runs` result that the loop walks
    (the result itself, or a name assigned from it before the loop in the same block)."""
    loop = frames[0].loop
    if type(loop) is not cst.For or not any(
        fixes.uses_names(arg.value, fixes.loop_bound_names(loop)) for arg in read.args
    ):
        return False
    source = frequency.collection(loop)  # unwrapped from `enumerate(...)`, `list(...)`
    if (
        type(source) is cst.Call
        and type(source.func) is cst.Attribute
        and source.func.attr.value in _ROW_VIEWS
    ):
        source = source.func.value
    if type(source) is cst.Name:
        source = ctx.assigned_before(loop).get(source.value, source)
    if type(source) is not cst.Call:
        return False
    searched = ctx.api_call(source)
    return searched is not None and searched.name == "search_runs"


def _advised(advised: set[tuple[int, str]], loop: cst.CSTNode, finding: ReadFinding) -> bool:
    """Whether `loop` already got a finding with the same fetch-everything advice (noted
    now if not)."""
    if not finding.fetches_all:
        return False
    key = (id(loop), finding.help)
    if key in advised:
        return True
    advised.add(key)
    return False


def _reads_what_it_created(ctx: FileContext, block: cst.CSTNode, read: cst.Call) -> bool:
    """Whether `read` is handed what an MLflow `create_*` call in `block` returned
    (`experiment_id = mlflow.create_experiment(name)`, then `mlflow.set_experiment(
    experiment_id=experiment_id)`): it reads back what the same iteration created."""
    created: set[str] = set()
    for node in loop_nodes(block.body if type(block) is cst.FunctionDef else block):
        if type(node) is cst.Assign and type(node.value) is cst.Call:
            found = ctx.api_call(node.value)
            if found is not None and found.name.startswith("create_"):
                created.update(t.target.value for t in node.targets if type(t.target) is cst.Name)
    if not created:
        return False
    return any((spelling(arg.value) or "").split(".", 1)[0] in created for arg in read.args)


def _beside_heavy_work(
    ctx: FileContext, loop: cst.CSTNode, read: cst.Call, site: Optional[cst.Call] = None
) -> bool:
    """Whether each iteration of `loop` also moves files or models, creates a run or
    evaluates a model (api.HEAVY_WORK), directly or through a function of this file, or
    makes a call named for moving data or training (`s3.download_file`, `trainer.fit`,
    `import_model_version`, api.HEAVY_WORDS). `loop` may also be the function that makes
    the read, called in a loop; `site` the call in it that leads to the read (a helper's
    name says nothing about the work beside the read). A loop that can `continue` after the
    read and before that work (`if found: continue`, a sync tool skipping what exists) is
    not: its iterations may be the reads alone. A `continue` before the read skips both.
    Work under an `if` that holds on one iteration at most (`if i == best:`) is not
    per-iteration work."""
    # in source order: the first `continue` of the loop itself (not of an inner loop) after the
    # read, or the first heavy call, decides
    todo: list[tuple[cst.CSTNode, bool]] = [(getattr(loop, "body", loop), False)]
    where = site if site is not None else read  # the read's place in `loop`, if it is there
    passed = not contains(loop, where)
    is_loop = isinstance(loop, (cst.For, cst.While, *COMPREHENSION_TYPES))
    while todo:
        node, nested = todo.pop()  # nested: in an inner loop, whose `continue` is its own
        if node is where:
            passed = True
        if isinstance(node, _SCOPES) or node is read:
            continue
        if type(node) is cst.Continue and not nested and passed:
            return False
        if type(node) is cst.If and is_loop and ctx.holds_once(node, loop):
            # the body runs on one iteration at most: not per-iteration work; the rest does
            todo.extend((child, nested) for child in (node.orelse, node.test) if child is not None)
            continue
        if type(node) is cst.Call and _heavy_call(ctx, node, by_name=node is not site):
            return True
        inner = nested or isinstance(node, (cst.For, cst.While))
        todo.extend((child, inner) for child in reversed(list(iter_children(node))))
    return False


def _heavy_call(ctx: FileContext, call: cst.Call, by_name: bool) -> bool:
    callee = ctx.resolved_callee(call)
    if api.is_heavy_work(callee):
        return True
    helper = ctx.local_function(call)
    if helper is not None and ctx.reaches_heavy_work(helper, site=call):
        return True
    if not by_name or (callee is not None and callee.startswith("mlflow.")):
        return False  # MLflow's own calls: HEAVY_WORK decides
    func = call.func
    if ctx.code(func) in api.HEAVY_CALLS:  # `subprocess.run(...)`, as written
        return True
    name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
    words = name.lower().split("_") if isinstance(name, str) else []
    if len(words) == 1 and words[0] not in api.HEAVY_ALONE:
        return False  # `params.copy()`, `sync()`: too vague alone
    return not api.HEAVY_WORDS.isdisjoint(words)


def _tracks(ctx: FileContext, block: cst.CSTNode, read: Optional[cst.Call] = None) -> bool:
    """Whether `block` calls MLflow, directly or through a function of this file (one that
    reaches MLflow calls, or that it hands the client to: `collect_metrics(run, client)`),
    `read` apart."""
    todo: list[cst.CSTNode] = [block]
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES) or node is read:
            continue
        if type(node) is cst.Call:
            helper = ctx.local_function(node)
            if (
                ctx.api_call(node) is not None
                or id(node) in ctx.hands_mlflow
                or (
                    helper is not None
                    and (
                        ctx.reachable_api_calls(helper, site=node)
                        or _hands_mlflow_on(ctx, helper.node)
                    )
                )
            ):
                return True
        todo.extend(iter_children(node))
    return False


def _hands_mlflow_on(ctx: FileContext, function: cst.FunctionDef) -> bool:
    """Whether `function` gives the client (or the mlflow module) to another function:
    `collect_metrics(run, self._client)`, imported from another module."""
    todo: list[cst.CSTNode] = [function.body]
    while todo:
        node = todo.pop()
        if type(node) is cst.Call and id(node) in ctx.hands_mlflow:
            return True
        if not isinstance(node, _SCOPES):
            todo.extend(iter_children(node))
    return False


def _decides_exit(loop: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Whether what `node` returns decides when `loop` stops: `node` is in a `while` test,
    or its result (the names its statement assigns) is tested by the `while` or by an `if`
    of the loop's body whose block leaves the loop (`break`, `return`, `raise`)."""
    if type(loop) is cst.While and contains(loop.test, node):
        return True
    body = getattr(loop, "body", None)
    if not isinstance(loop, (cst.For, cst.While)) or type(body) is not cst.IndentedBlock:
        return False
    holder = next((s for s in body.body if contains(s, node)), None)
    if holder is None:
        return False
    results = _assigned_names(holder)
    if type(loop) is cst.While and results and _reads_any(loop.test, results):
        return True
    for statement in body.body:
        todo: list[cst.CSTNode] = [statement]
        while todo:
            current = todo.pop()
            if isinstance(current, (*_SCOPES, cst.For, cst.While)):
                continue
            if (
                type(current) is cst.If
                and _leaves(current.body)
                and (contains(current.test, node) or _reads_any(current.test, results))
            ):
                return True
            todo.extend(iter_children(current))
    return False


def _names_read(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if type(current) is cst.Name:
            names.add(current.value)
        todo.extend(iter_children(current))
    return names


def _assigned_in_function(function: cst.FunctionDef) -> set[str]:
    """Names the function's own body binds (nested definitions excluded)."""
    return {spelled.split(".")[0] for spelled in bound_spellings(function.body)}


def _assigned_names(statement: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    todo = [statement]
    while todo:
        current = todo.pop()
        if isinstance(current, _SCOPES):
            continue
        if type(current) is cst.Assign:
            for target in current.targets:
                names.update(_names_in(target.target))
        elif isinstance(current, (cst.NamedExpr, cst.AnnAssign)):
            names.update(_names_in(current.target))
        todo.extend(iter_children(current))
    return names


def _names_in(target: cst.CSTNode) -> list[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _names_in(element.value)]
    spelled = spelling(target)
    return [spelled] if spelled is not None else []


def _reads_any(expression: cst.CSTNode, names: set[str]) -> bool:
    todo = [expression]
    while todo:
        current = todo.pop()
        spelled = spelling(current) if isinstance(current, (cst.Name, cst.Attribute)) else None
        if spelled is not None and spelled in names:
            return True
        todo.extend(iter_children(current))
    return False


def _leaves(block: cst.BaseSuite) -> bool:
    """Whether the block can leave the loop: a `break`, `return` or `raise` in it, also in
    the branches of its `if`s and `try`s (`if output == "json": return params`), not in a
    loop or a definition of its own."""
    todo: list[cst.CSTNode] = [block]
    while todo:
        current = todo.pop()
        if isinstance(current, (cst.Break, cst.Return, cst.Raise)):
            return True
        if isinstance(current, (*_SCOPES, cst.For, cst.While)):
            continue
        todo.extend(iter_children(current))
    return False


def _uses_last_item_only(ctx: FileContext, call: cst.Call, loop: cst.CSTNode) -> bool:
    """`client.get_metric_history(...)[-1]`, or `history = client.get_metric_history(...)`
    read in the loop only as `history[-1]` (and in truth tests). Call during the walk."""
    parent = ctx.ancestors[-1] if ctx.ancestors else None
    if type(parent) is cst.Subscript and parent.value is call:
        return _is_last_index(parent)
    holder = ctx.ancestors[-2] if len(ctx.ancestors) > 1 else None
    if not (
        type(parent) is cst.Assign
        and parent.value is call
        and len(parent.targets) == 1
        and type(parent.targets[0].target) is cst.Name
        and holder is not None
    ):
        return False
    name = parent.targets[0].target.value
    uses = 0
    todo: list[tuple[cst.CSTNode, Optional[cst.CSTNode]]] = [(loop, None)]
    while todo:
        current, above = todo.pop()
        if current is parent:
            continue
        if type(current) is cst.Name and current.value == name:
            uses += 1
            if not (
                (type(above) is cst.Subscript and above.value is current and _is_last_index(above))
                or isinstance(above, (cst.If, cst.While, cst.IfExp, cst.UnaryOperation))
            ):
                return False
        todo.extend((child, current) for child in iter_children(current))
    return uses > 0


def _is_last_index(subscript: cst.Subscript) -> bool:
    if len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    if type(index) is not cst.Index:
        return False
    value = index.value
    return (
        type(value) is cst.UnaryOperation
        and type(value.operator) is cst.Minus
        and type(value.expression) is cst.Integer
        and value.expression.value == "1"
    )


def _advances_page_token(ctx: FileContext, call: cst.Call) -> bool:
    """A pagination call: its `page_token=` is a name (or attribute) that a loop running the
    call assigns, or a parameter of the function making the call (its caller may advance it).
    Call during the walk, at the call."""
    token = next(
        (
            arg.value
            for arg in call.args
            if arg.keyword is not None and arg.keyword.value == "page_token"
        ),
        None,
    )
    spelled = spelling(token) if token is not None else None
    if token is None or spelled is None:
        return False
    root = spelled.split(".", 1)[0]
    for frame in ctx.loops(call):
        assigned = ctx.loop_varying(frame.loop)
        if type(frame.loop) is cst.For:  # the loop's own variable is not a page token
            assigned = assigned - set(_names_in(frame.loop.target))
        if spelled in assigned or root in assigned:
            return True
    scope = ctx.enclosing(*_SCOPES)
    if type(token) is cst.Name and isinstance(scope, (cst.FunctionDef, cst.Lambda)):
        return token.value in parameter_names(scope)
    return False
