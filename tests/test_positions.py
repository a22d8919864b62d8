"""positions.Locator gives every node the position libcst's PositionProvider gives it, from
the chain of ancestors a finding is reported at, from a wrong chain (a node reported from
elsewhere), and after the walk (no chain); the engine's findings do not depend on it."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mlflow_lint import engine, positions
from mlflow_lint.config import build_settings
from mlflow_lint.context import iter_children

ROOT = Path(__file__).resolve().parent.parent

SHAPES = {
    "decorators": (
        "import mlflow\n\n\n@app.route(\n    '/x',\n)\n# between\n@(\n    cache\n)\n\n"
        "def handler():\n    mlflow.log_metric('a', 1)\n\n\n"
        "class A:\n    @property\n    def b(self):\n        return 1\n"
    ),
    "elif chains": (
        "if a:\n    x = 1\nelif b := f():\n    y = 2\nelif c:  # c\n    pass\n"
        "else:\n    z = [i for i in range(3)]\n"
    ),
    "try": (
        "try:\n    a()\nexcept (A, B) as e:\n    b(e)\nexcept C:\n    pass\nelse:\n"
        "    c()\nfinally:\n    d()\n"
    ),
    "loops and with": (
        "for i in range(3):\n    for j in g(i):\n        h(i, j)\n    else:\n        k()\n"
        "while w():\n    with open(p) as f, open(q) as g:\n        f.write(g.read())\n"
    ),
    "one-line suites and semicolons": (
        "if x: a(); b()\nfor i in y: c(i)\nx = 1; y = 2; z = f(\n    3)\n"
        "def f(): return g()\nclass K: pass\n"
    ),
    "comments and blank lines": (
        "# head\n\n\ndef f():\n    # inside\n\n    a = 1  # trailing\n\n\n    # before b\n"
        "    b = g(\n        a,  # arg\n    )\n"
    ),
    "continuations and strings": (
        "x = 1 + \\\n    2\ns = '''a\nb''' + f(\n'''\n''')\ndef f():\n    return \\\n        g()\n"
    ),
    "tabs and odd indentation": (
        "def f():\n\tif x:\n\t\ty = 1\n\telse:\n\t  z = 2\nclass A:\n   def m(self):\n"
        "        return self.n()\n"
    ),
    "async": (
        "async def f():\n    async for x in g():\n        async with h() as y:\n            await y\n"
    ),
    "match": (
        "match command.split():\n    case [action]:\n        go(action)\n"
        "    case [action, obj]:  # two\n        go(action, obj)\n    case _:\n        pass\n"
    ),
    "crlf": "import mlflow\r\n\r\ndef f():\r\n    if a:\r\n        mlflow.log_param('a', 1)\r\n",
    "nested definitions": (
        "def outer():\n    def inner():\n        class C:\n            def m(self):\n"
        "                return [lambda: q for q in r]\n        return C\n    return inner\n"
    ),
}


def _reference(module: cst.Module) -> dict[int, positions.Position]:
    found = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {
        id(n): (r.start.line, r.start.column, r.end.line, r.end.column) for n, r in found.items()
    }


def _nodes_with_chains(
    module: cst.Module,
) -> list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]]:
    found = []
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(module, ())]
    while stack:
        node, chain = stack.pop()
        if chain:
            found.append((node, chain))
        stack.extend((child, (*chain, node)) for child in iter_children(node))
    return found


def _sources() -> list[tuple[str, str]]:
    examples = sorted((ROOT / "rules").glob("MLF*/*.py"))
    return [*SHAPES.items(), *((str(p.relative_to(ROOT)), p.read_text()) for p in examples)]


@pytest.mark.parametrize(("name", "source"), _sources(), ids=[n for n, _ in _sources()])
def test_every_node_where_libcst_puts_it(name: str, source: str) -> None:
    module = cst.parse_module(source)
    expected = _reference(module)
    skeleton = positions.skeleton(ast.parse(source))
    items = _nodes_with_chains(module)
    # from the chain at the node (what the walk has when a rule reports it)
    at_node = positions.Locator(module, skeleton)
    at_node.locate(([node], chain) for node, chain in items)
    # reported from the module level (a rule that reports when the walk is over)
    after_walk = positions.Locator(module, skeleton)
    after_walk.locate(([node], ()) for node, _ in items)
    # reported while the walk was somewhere else entirely
    elsewhere = positions.Locator(module, skeleton)
    last_chain = items[-1][1]
    elsewhere.locate(([node], last_chain) for node, _ in items)
    for locator in (at_node, after_walk, elsewhere):
        assert not locator._whole  # the statement by statement way, never the fallback
        for node, _ in items:
            assert locator.position(node) == expected[id(node)], (name, type(node).__name__)


def test_a_statement_alone_on_its_line_generates_that_line_only() -> None:
    source = "import mlflow\n\n\ndef f(xs):\n    for x in xs:\n        mlflow.log_metric('m', x)\n"
    module = cst.parse_module(source)
    items = _nodes_with_chains(module)
    call, chain = next((n, c) for n, c in items if isinstance(n, cst.Call))
    locator = positions.Locator(module, positions.skeleton(ast.parse(source)))
    locator.locate([([call], chain)])
    assert locator.position(call) == (6, 8, 6, 33)
    # the function, the loop and the import were never generated
    generated = set(locator.computed)
    assert id(module.body[1]) not in generated
    assert id(module.body[0]) not in generated


def test_statements_reported_from_their_block_generate_those_statements_only() -> None:
    # what a rule that groups a block's statements reports, once the walk leaves the block
    source = (
        "import mlflow\n\n\ndef f(m):\n    mlflow.log_param('a', 1)\n    mlflow.log_param('b', m)\n"
    )
    module = cst.parse_module(source)
    function = module.body[1]
    assert isinstance(function, cst.FunctionDef)
    first, second = (line.body[0] for line in function.body.body)  # type: ignore[attr-defined]
    locator = positions.Locator(module, positions.skeleton(ast.parse(source)))
    locator.locate([([first.value, first, second], (module, function))])
    assert locator.position(first) == (5, 4, 5, 28)
    assert locator.position(second) == (6, 4, 6, 28)
    assert id(function) not in locator.computed


def test_stubs_that_do_not_line_up_fall_back_to_the_whole_module() -> None:
    source = "def f():\n    a = 1\n    b = 2\n    return g(a, b)\n"
    stubbed = 'def f():\n    """\n\n"""\n'
    module = cst.parse_module(stubbed)  # libcst sees a stub, the ast the whole body
    items = _nodes_with_chains(module)
    locator = positions.Locator(module, positions.skeleton(ast.parse(source)))
    locator.locate(([node], chain) for node, chain in items)
    expected = _reference(module)
    assert all(locator.position(node) == expected[id(node)] for node, _ in items)


def test_dense_file_same_findings_with_and_without_elision() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import dense
    finally:
        sys.path.pop(0)
    text = dense.generate(50)
    settings = build_settings(None, select=["ALL"], unsafe_fixes=True)
    rules = settings.rules_for("dense.py")
    fast = engine.analyze(text, "dense.py", rules, settings)
    whole = engine.analyze(text, "dense.py", rules, settings, elide=False)
    assert fast == whole
    assert len(fast) == 50 * dense.FINDINGS_PER_FUNCTION


@pytest.mark.parametrize(("name", "source"), _sources(), ids=[n for n, _ in _sources()])
def test_code_of_names_and_literals_is_what_codegen_writes(name: str, source: str) -> None:
    """FileContext.code writes names, dotted names and plain literals itself (libcst's codegen
    costs a context manager per node): the same text, and codegen wherever that is not sure."""
    from mlflow_lint.context import FileContext

    tricky = "a . b\n(a).b\na.\\\n    b\nx = (1)\ny = 'q' \"r\"\nz = f'{a}'\nw = a.b(c).d\n"
    module = cst.parse_module(source + "\n" + tricky)
    ctx = FileContext(module, "t.py", module.code)
    simple = (cst.Name, cst.Attribute, cst.SimpleString, cst.Integer, cst.Float, cst.Call)
    checked = [node for node, _ in _nodes_with_chains(module) if isinstance(node, simple)]
    assert checked
    for node in checked:
        assert ctx.code(node) == ctx._render.code_for_node(node), (name, type(node).__name__)
