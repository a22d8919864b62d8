"""Run the user's program unchanged, in this interpreter, as `python` would.

As `coverage run` does: the code is compiled with its real file name and executed in a fresh
`__main__` module, which stays in `sys.modules` (so pickling what it defines works), with
`sys.argv` set to the program's own arguments and `sys.path[0]` to the script's directory (or,
for `-m`, the current directory). `-m package` runs `package.__main__`. `SystemExit` gives the
exit code as the interpreter would (None: 0, an int: itself, anything else: printed, 1); any
other exception is printed through `sys.excepthook`, without this module's frames, and gives
1 (130 for KeyboardInterrupt).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import time
import types
from dataclasses import dataclass
from typing import Any, Optional

from mlflow_lint.profile.probes import ProfileError


@dataclass
class Program:
    target: str  # a script's path, or a module's name with `module`
    args: list[str]
    module: bool = False

    def describe(self) -> str:
        words = ["python", *(["-m"] if self.module else []), self.target, *self.args]
        return " ".join(words)


@dataclass
class Loaded:
    code: types.CodeType
    namespace: dict[str, Any]
    argv0: str
    path0: str
    filename: str


@dataclass
class Outcome:
    exit_code: int
    exception: Optional[str]  # "ValueError: ..." when the program raised
    seconds: float


def load(program: Program) -> Loaded:
    """Compile the program; raises ProfileError when there is nothing to run."""
    if program.module:
        return _load_module(program.target)
    return _load_script(program.target)


def _load_script(path: str) -> Loaded:
    script = path
    if os.path.isdir(path):
        script = os.path.join(path, "__main__.py")
        if not os.path.isfile(script):
            raise ProfileError(f"can't find '__main__' module in {path!r}")
    try:
        with open(script, "rb") as source:
            data = source.read()
    except OSError as error:
        raise ProfileError(f"can't open file {path!r}: {error.strerror}") from None
    filename = os.path.abspath(script)
    code = _compile(data, filename)
    namespace = {
        "__name__": "__main__",
        "__file__": filename,
        "__cached__": None,
        "__package__": None,
        "__spec__": None,
        "__loader__": importlib.machinery.SourceFileLoader("__main__", filename),
        "__builtins__": __builtins__,
    }
    directory = os.path.dirname(os.path.realpath(script if os.path.isdir(path) else path))
    return Loaded(code, namespace, path, directory, filename)


def _load_module(name: str) -> Loaded:
    cwd = os.getcwd()
    sys.path.insert(0, cwd)  # as `python -m` finds modules: the current directory first
    try:
        spec = _find(name)
        if spec.submodule_search_locations is not None:  # a package: run its __main__
            main = _find(f"{name}.__main__")
            spec = main
    finally:
        sys.path.remove(cwd)
    loader = spec.loader
    get_code = getattr(loader, "get_code", None)
    if get_code is None or not spec.origin:
        raise ProfileError(f"cannot run module {name!r}: its loader gives no code")
    try:
        code = get_code(spec.name)
    except SyntaxError as error:
        raise ProfileError(_syntax_error(error)) from None
    if code is None:
        raise ProfileError(f"cannot run module {name!r}: no code")
    namespace = {
        "__name__": "__main__",
        "__file__": spec.origin,
        "__cached__": spec.cached,
        "__package__": spec.parent,
        "__spec__": spec,
        "__loader__": loader,
        "__builtins__": __builtins__,
    }
    return Loaded(code, namespace, spec.origin, cwd, spec.origin)


def _find(name: str) -> importlib.machinery.ModuleSpec:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as error:
        raise ProfileError(f"No module named {name!r} ({error})") from None
    if spec is None:
        raise ProfileError(f"No module named {name!r}")
    return spec


def _compile(data: bytes, filename: str) -> types.CodeType:
    try:
        return compile(data, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ProfileError(_syntax_error(error)) from None
    except ValueError as error:  # NUL bytes
        raise ProfileError(f"{filename}: cannot compile: {error}") from None


def _syntax_error(error: SyntaxError) -> str:
    return f"{error.filename}:{error.lineno}: SyntaxError: {error.msg}"


def run(loaded: Loaded, args: list[str]) -> Outcome:
    """Execute the program; returns its exit code (never raises for the program's errors)."""
    main = types.ModuleType("__main__")
    main.__dict__.update(loaded.namespace)
    sys.modules["__main__"] = main
    sys.argv = [loaded.argv0, *args]
    if sys.path:
        sys.path[0] = loaded.path0
    else:
        sys.path.append(loaded.path0)
    started = time.perf_counter()
    exception: Optional[str] = None
    try:
        exec(loaded.code, main.__dict__)
        code = 0
    except SystemExit as error:
        code = _exit_code(error.code)
    except BaseException as error:
        _print_exception(error)
        exception = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        code = 130 if isinstance(error, KeyboardInterrupt) else 1
    return Outcome(code, exception, time.perf_counter() - started)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_exception(error: BaseException) -> None:
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_frame.f_code.co_filename == __file__:
        traceback = traceback.tb_next
    sys.stdout.flush()
    # the default hook prints the exception's own traceback, not the one it is given
    sys.excepthook(type(error), error.with_traceback(traceback), traceback)
