"""The language server, driven over stdio as an editor drives it.

The tests start the installed `mlflow-lint server` (one per set of client capabilities,
shared by the tests) and talk JSON-RPC with Content-Length framing through the small client
below (no pygls on this side: the wire format is what is tested). Every wait has a timeout, so a hung server fails the test instead of hanging CI. What
the server reports and fixes is checked against `mlflow-lint check` / `mlflow-lint fix` on the
same text.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from conftest import MLFLOW_LINT, run_cli

pytest.importorskip("pygls")

TIMEOUT = 15.0  # seconds for any one answer; the server answers in well under one
STARTUP_TIMEOUT = 60.0  # the first answer waits for Python to import pygls and libcst

# Line 6 has two non-BMP characters (two UTF-16 code units each) inside the MLF102 range (a
# pair per epoch: reported); line 7 has one before the MLF101 call. The form feed on line 2 is
# whitespace to Python and LSP alike (str.splitlines would break the line there).
EMOJI_SOURCE = (
    "import mlflow\n"
    "\x0c\n"
    "# a comment\n"
    "for epoch in range(3):\n"
    '    mlflow.log_metric("a", 1, step=epoch)\n'
    '    mlflow.log_metric("b\U0001d431\U0001d432", 2, step=epoch)\n'  # astral letters: a valid key
    'for i in range(3): tag = "\U0001f600"; mlflow.log_metric("c", i, step=i)\n'
)

# Three rules' safe fixes (MLF105, MLF104, MLF102) and two unsafe ones (MLF101).
FIX_ALL_SOURCE = """\
import mlflow

params = {"lr": 0.1, "batch": 32}

with mlflow.start_run():
    for key, value in params.items():
        mlflow.log_param(key, value)
    for epoch in range(3):
        mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
        mlflow.log_metric("acc", 0.5, step=epoch)
        mlflow.set_tag("last_epoch", epoch)
        mlflow.set_tag("stage", "dev")
"""

CLEAN_SOURCE = 'import mlflow\n\nmlflow.log_metrics({"a": 1, "b": 2})\n'


class LspError(AssertionError):
    pass


class Client:
    """A minimal LSP client over a subprocess's stdin/stdout."""

    def __init__(self, cwd: Path, capabilities: dict[str, Any]) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [str(MLFLOW_LINT), "server"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.capabilities = capabilities
        self.incoming: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # -- the wire
    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while True:
                headers: dict[str, str] = {}
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    if not line.strip():
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = stream.read(int(headers["content-length"]))
                self.incoming.put(json.loads(body.decode("utf-8")))
        except Exception as error:  # a framing error: fail the waiting test with it
            self.incoming.put({"framing-error": repr(error)})
        finally:
            self.incoming.put(None)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def server_log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def _next(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        try:
            message = self.incoming.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise LspError(
                f"no {waiting_for} in time; server stderr:\n{self.server_log()}"
            ) from None
        if message is None:
            raise LspError(f"server closed stdout waiting for {waiting_for}:\n{self.server_log()}")
        if "framing-error" in message:
            raise LspError(f"bad message from the server: {message['framing-error']}")
        if "method" in message and "id" in message:  # a request to the client: say yes
            self.send({"id": message["id"], "result": None})
        return message

    # -- requests and notifications
    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        self.next_id += 1
        request_id = self.next_id
        self.send({"id": request_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline, f"answer to {method}")
            if message.get("id") == request_id and "method" not in message:
                if "error" in message:
                    raise LspError(f"{method} failed: {message['error']}")
                return message.get("result")
            if "method" in message and "id" not in message:
                self.notifications.append(message)

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def wait_for(
        self, method: str, where: Callable[[dict[str, Any]], bool] = lambda p: True
    ) -> dict[str, Any]:
        """The params of the next `method` notification that satisfies `where`."""
        for index, message in enumerate(self.notifications):
            if message["method"] == method and where(message["params"]):
                del self.notifications[: index + 1]
                return message["params"]  # type: ignore[no-any-return]
        self.notifications.clear()
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._next(deadline, method)
            if message.get("method") == method and where(message["params"]):
                return message["params"]  # type: ignore[no-any-return]

    def diagnostics(self, uri: str, version: Optional[int] = None) -> list[dict[str, Any]]:
        params = self.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
        )
        return params["diagnostics"]  # type: ignore[no-any-return]

    # -- a session
    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "capabilities": self.capabilities,
                "clientInfo": {"name": "test_lsp"},
            },
            timeout=STARTUP_TIMEOUT,
        )
        self.notify("initialized", {})
        return result  # type: ignore[no-any-return]

    def open(self, uri: str, text: str, version: int = 1) -> None:
        item = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})

    def code_actions(
        self,
        uri: str,
        range_: dict[str, Any],
        diagnostics: list[dict[str, Any]],
        only: Optional[list[str]] = None,
    ) -> list[dict[str, Any]]:
        context: dict[str, Any] = {"diagnostics": diagnostics}
        if only is not None:
            context["only"] = only
        result = self.request(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": range_, "context": context},
        )
        return result or []

    def shutdown(self) -> int:
        self.request("shutdown", None)
        self.notify("exit", None)
        return self.process.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.stderr.close()


def capabilities(
    encodings: Optional[list[str]] = None, resolve: bool = False, versioned: bool = True
) -> dict[str, Any]:
    code_action: dict[str, Any] = {
        "codeActionLiteralSupport": {
            "codeActionKind": {"valueSet": ["", "quickfix", "source", "source.fixAll"]}
        },
        "isPreferredSupport": True,
    }
    if resolve:
        code_action["resolveSupport"] = {"properties": ["edit"]}
    result: dict[str, Any] = {
        "textDocument": {
            "synchronization": {"didSave": True},
            "publishDiagnostics": {"versionSupport": True, "codeDescriptionSupport": True},
            "codeAction": code_action,
        },
        "workspace": {"workspaceEdit": {"documentChanges": versioned}},
    }
    if encodings is not None:
        result["general"] = {"positionEncodings": encodings}
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint]\n", encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Client]]:
    """One server per set of client capabilities, shared by the module's tests (each test has
    its own project folder and documents): starting Python with pygls and libcst takes a
    second or more."""
    root = tmp_path_factory.mktemp("lsp-clients")
    clients: dict[tuple[tuple[str, Any], ...], Client] = {}

    def get(**options: Any) -> Client:
        key = tuple(sorted((name, repr(value)) for name, value in options.items()))
        if key not in clients:
            clients[key] = Client(root, capabilities(**options))
            clients[key].initialize(root)
        return clients[key]

    yield get
    for client in clients.values():
        client.close()


# --- helpers: the CLI's view of the same text, and applying LSP edits --------------------------
def code_points(line: str, units: int) -> int:
    """The code-point column of a UTF-16 column (independent of the server's conversion)."""
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line)


def lines_of(text: str) -> list[str]:
    """Lines as LSP counts them: split at \\n, \\r\\n and \\r only."""
    return re.split(r"\r\n|\r|\n", text)


def offset(text: str, position: dict[str, int]) -> int:
    lines = lines_of(text)
    start = sum(len(line) for line in lines[: position["line"]])
    start += sum(len(m) for m in re.findall(r"\r\n|\r|\n", text)[: position["line"]])
    return start + code_points(lines[position["line"]], position["character"])


def apply(text: str, edits: list[dict[str, Any]]) -> str:
    spans = sorted(
        (
            (offset(text, e["range"]["start"]), offset(text, e["range"]["end"]), e["newText"])
            for e in edits
        ),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def document_edits(action: dict[str, Any], uri: str, version: int) -> list[dict[str, Any]]:
    """The edits of a code action, checking they are versioned edits of `uri`."""
    changes = action["edit"]["documentChanges"]
    assert len(changes) == 1
    assert changes[0]["textDocument"] == {"uri": uri, "version": version}
    return changes[0]["edits"]  # type: ignore[no-any-return]


def cli_findings(text: str, cwd: Path, name: str = "train.py") -> list[tuple[int, int, str, str]]:
    """(line, 1-based column in code points, code, message) as `mlflow-lint check` prints them."""
    result = run_cli("check", "-", "--stdin-filename", name, "-q", cwd=cwd, input=text.encode())
    findings = []
    for line in result.stdout.splitlines():
        match = re.match(rf"{re.escape(name)}:(\d+):(\d+): (\S+) (.*?)( \[\*\])?$", line)
        assert match, line
        row, column, code, message, _ = match.groups()
        findings.append((int(row), int(column), code, message))
    return findings


def cli_fixed(text: str, cwd: Path, name: str = "train.py") -> str:
    result = run_cli("fix", "-", "--stdin-filename", name, cwd=cwd, input=text.encode())
    return result.stdout


def lsp_findings(text: str, diagnostics: list[dict[str, Any]]) -> list[tuple[int, int, str, str]]:
    lines = lines_of(text)
    found = []
    for d in diagnostics:
        start = d["range"]["start"]
        column = code_points(lines[start["line"]], start["character"]) + 1
        found.append((start["line"] + 1, column, d["code"], d["message"]))
    return found


# --- the tests -------------------------------------------------------------------------------
def test_diagnostics_match_check_with_utf16_columns(server, project):
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, EMOJI_SOURCE)
    diagnostics = client.diagnostics(uri, version=1)

    assert lsp_findings(EMOJI_SOURCE, diagnostics) == cli_findings(EMOJI_SOURCE, project)
    by_code = {d["code"]: d for d in diagnostics}
    assert set(by_code) == {"MLF101", "MLF102"}
    # UTF-16 columns: each emoji counts twice
    assert by_code["MLF102"]["range"] == {
        "start": {"line": 4, "character": 4},
        "end": {"line": 5, "character": 43 + 2},
    }
    assert by_code["MLF101"]["range"]["start"] == {"line": 6, "character": 30 + 1}
    assert by_code["MLF101"]["range"]["end"] == {"line": 6, "character": 63 + 1}
    for d in diagnostics:
        assert d["severity"] == 2  # Warning
        assert d["source"] == "mlflow-lint"
        # no link without [project.urls] (tests/test_setup.py); the hover explains the rule
        assert "codeDescription" not in d


def test_position_encoding_negotiated(server, project):
    client = server(encodings=["utf-8", "utf-16"])
    uri = (project / "train.py").as_uri()
    client.open(uri, EMOJI_SOURCE)
    by_code = {d["code"]: d for d in client.diagnostics(uri)}
    # UTF-8: each emoji is four code units
    assert by_code["MLF102"]["range"]["end"] == {"line": 5, "character": 43 + 2 * 3}
    assert by_code["MLF101"]["range"]["start"] == {"line": 6, "character": 30 + 3}


def test_configuration_and_noqa_apply(server, project):
    (project / "pyproject.toml").write_text(
        '[tool.mlflow-lint]\nignore = ["MLF101"]\n\n[tool.mlflow-lint.per-file-ignores]\n'
        '"legacy_*.py" = ["MLF102"]\n',
        encoding="utf-8",
    )
    # a pair in a function named for a batch: reported, but for the noqa
    text = EMOJI_SOURCE + (
        'def on_batch_end():\n    mlflow.set_tag("a", 1)  # noqa: MLF104\n    mlflow.set_tag("b", 2)\n'
    )
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, text)
    diagnostics = client.diagnostics(uri)
    assert [d["code"] for d in diagnostics] == ["MLF102"]
    assert lsp_findings(text, diagnostics) == cli_findings(text, project)

    legacy = (project / "legacy_train.py").as_uri()
    client.open(legacy, text)
    assert client.diagnostics(legacy) == []


def test_quickfix_matches_fix(server, project):
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, EMOJI_SOURCE)
    mlf102 = next(d for d in client.diagnostics(uri) if d["code"] == "MLF102")

    cursor = {"start": mlf102["range"]["start"], "end": mlf102["range"]["start"]}
    actions = client.code_actions(uri, cursor, [mlf102])
    quickfixes = [a for a in actions if a["kind"] == "quickfix"]
    assert [a["title"] for a in quickfixes] == [
        "Fix MLF102: Merge into one `mlflow.log_metrics` call"
    ]
    (action,) = quickfixes
    assert action["isPreferred"] is True
    assert action["diagnostics"] == [mlf102]
    fixed = apply(EMOJI_SOURCE, document_edits(action, uri, 1))
    assert fixed == cli_fixed(EMOJI_SOURCE, project)

    # the MLF101 finding has no fix: nothing offered on its line
    line_6 = {"start": {"line": 6, "character": 40}, "end": {"line": 6, "character": 40}}
    assert [a for a in client.code_actions(uri, line_6, []) if a["kind"] == "quickfix"] == []


def test_did_change_and_did_close(server, project):
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, EMOJI_SOURCE)
    assert client.diagnostics(uri, version=1)

    # several changes in a row (full sync): the diagnostics are those of the last one
    for version, text in ((2, EMOJI_SOURCE + "\n"), (3, FIX_ALL_SOURCE), (4, CLEAN_SOURCE)):
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )
    assert client.diagnostics(uri, version=4) == []

    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": EMOJI_SOURCE}]},
    )
    assert len(client.diagnostics(uri, version=5)) == 2
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert len(client.diagnostics(uri, version=5)) == 2

    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri) == []


@pytest.mark.parametrize(
    ("resolve", "newline"), [(False, "\n"), (True, "\r\n")], ids=["eager-lf", "resolved-crlf"]
)
def test_fix_all_matches_fix(server, project, resolve, newline):
    source = FIX_ALL_SOURCE.replace("\n", newline)
    client = server(resolve=resolve)
    uri = (project / "train.py").as_uri()
    client.open(uri, source)
    assert client.diagnostics(uri)

    everywhere = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
    (action,) = client.code_actions(uri, everywhere, [], only=["source.fixAll"])
    assert action["kind"] == "source.fixAll.mlflow-lint"
    assert action["title"] == "Fix all MLF findings"
    assert "diagnostics" not in action
    if resolve:
        assert "edit" not in action
        action = client.request("codeAction/resolve", action)
    fixed = apply(source, document_edits(action, uri, 1))
    assert fixed == cli_fixed(source, project)
    assert fixed != source

    # without `only`, the source action comes along with the quickfixes
    kinds = {a["kind"] for a in client.code_actions(uri, everywhere, [])}
    assert "source.fixAll.mlflow-lint" in kinds
    # nothing to fix, no action
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": CLEAN_SOURCE}]},
    )
    assert client.diagnostics(uri, version=2) == []
    assert client.code_actions(uri, everywhere, [], only=["source.fixAll"]) == []


def test_unsafe_fixes_only_when_configured(server, project):
    source = (
        "import mlflow\n\nwith mlflow.start_run():\n    for step in range(10):\n"
        '        mlflow.log_metric("loss", 1 / (step + 1), step=step)\n'
    )
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, source)
    (mlf101,) = client.diagnostics(uri)
    assert mlf101["code"] == "MLF101"
    assert client.code_actions(uri, mlf101["range"], [mlf101]) == []  # unsafe: not offered

    project = project / "unsafe"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[tool.mlflow-lint]\nunsafe-fixes = true\n", encoding="utf-8"
    )
    uri = (project / "train.py").as_uri()
    client.open(uri, source)
    (mlf101,) = client.diagnostics(uri)
    actions = client.code_actions(uri, mlf101["range"], [mlf101])
    quickfix = next(a for a in actions if a["kind"] == "quickfix")
    assert quickfix["title"].startswith("Fix MLF101: ")
    assert quickfix["title"].endswith(" (unsafe)")
    assert quickfix["isPreferred"] is False
    fixed = apply(source, document_edits(quickfix, uri, 1))
    assert fixed == cli_fixed(source, project)  # the CLI applies it too, from the same config

    fix_all = next(a for a in actions if a["kind"] == "source.fixAll.mlflow-lint")
    assert fix_all["title"] == "Fix all MLF findings (including unsafe fixes)"
    assert apply(source, document_edits(fix_all, uri, 1)) == fixed


def test_syntax_error_is_one_error_diagnostic(server, project):
    text = 'import mlflow\n\nmlflow.log_metric("a", (1\nmlflow.log_metric("b", 2)\n'
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, text)
    (diagnostic,) = client.diagnostics(uri)
    assert diagnostic["severity"] == 1  # Error
    assert diagnostic["source"] == "mlflow-lint"
    result = run_cli("check", "-", "--stdin-filename", "train.py", cwd=project, input=text.encode())
    match = re.match(r"train\.py:(\d+):(\d+): error: (.*)", result.stdout)
    assert match, result.stdout
    line, column, message = match.groups()
    assert diagnostic["message"] == message
    assert diagnostic["range"]["start"] == {"line": int(line) - 1, "character": int(column) - 1}
    assert client.code_actions(uri, diagnostic["range"], [diagnostic]) == []

    # a broken configuration is one Error diagnostic too, and the server goes on
    (project / "pyproject.toml").write_text("[tool.mlflow-lint]\nselect = 1\n", encoding="utf-8")
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    (diagnostic,) = client.diagnostics(uri)
    assert diagnostic["severity"] == 1
    assert "select must be a list of strings" in diagnostic["message"]


def test_unversioned_edits_for_clients_without_document_changes(server, project):
    client = server(versioned=False)
    uri = (project / "train.py").as_uri()
    client.open(uri, EMOJI_SOURCE)
    mlf102 = next(d for d in client.diagnostics(uri) if d["code"] == "MLF102")
    action = next(a for a in client.code_actions(uri, mlf102["range"], [mlf102]))
    assert apply(EMOJI_SOURCE, action["edit"]["changes"][uri]) == cli_fixed(EMOJI_SOURCE, project)


def test_shutdown_and_exit(project):
    client = Client(project, capabilities())
    try:
        client.initialize(project)
        uri = (project / "notes.txt").as_uri()  # not Python: no diagnostics, no actions
        item = {"uri": uri, "languageId": "plaintext", "version": 1, "text": "mlflow.log_metric"}
        client.notify("textDocument/didOpen", {"textDocument": item})
        nowhere = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
        assert client.code_actions(uri, nowhere, []) == []
        assert client.shutdown() == 0
    finally:
        client.close()


def test_server_without_pygls_exits_2(project):
    code = (
        "import sys; sys.modules['pygls'] = None; sys.argv = ['mlflow-lint', 'server']; "
        "from mlflow_lint.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=project
    )
    assert result.returncode == 2
    assert "pip install 'mlflow-lint[lsp]'" in result.stderr
    assert result.stdout == ""


# --- the server's position arithmetic, in-process ---------------------------------------------
def test_positions_round_trip():
    from lsprotocol.types import Position

    from mlflow_lint.server import Positions

    # LSP lines: "a", "😀b\fc", "d\u2028e", "" (\f and U+2028 break no line)
    text = "a\r\n\U0001f600b\x0cc\rd\u2028e\n"
    units = {"utf-8": 4, "utf-16": 2, "utf-32": 1}
    for encoding, emoji in units.items():
        positions = Positions(text, encoding)
        assert positions.position(text.index("b")) == Position(1, emoji)
        assert positions.position(text.index("e")) == Position(2, 4 if encoding == "utf-8" else 2)
        assert positions.position(len(text)) == Position(3, 0)
        assert positions.at(2, 3) == positions.position(text.index("c"))
        assert positions.at(99, 0) == Position(3, 0)  # past the end: clamped
        for offset in range(len(text) + 1):
            if text[offset - 1 : offset + 1] == "\r\n":
                continue
            assert positions.offset(positions.position(offset)) == offset, (encoding, offset)
    bom = Positions("\ufeffimport mlflow\n", "utf-16", shift=1)
    assert bom.at(1, 0) == Position(0, 1)  # the engine's column 0 is after the BOM


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\r\nb\r\nc\r\n", "a\r\nb\r\nx\r\ny\r\nc\r\n"),
        ("a\r\nb", "a\nb"),
        ("x = 1\n", "x = 1\ny = 2\n"),
        ("same\n", "same\n"),
        ("", "new\n"),
    ],
)
def test_changed_lines(old, new):
    from mlflow_lint.server import Positions, changed_lines

    start, old_end, new_end = changed_lines(old, new)
    assert old[:start] + new[start:new_end] + old[old_end:] == new
    assert start in Positions(old, "utf-32").starts


def test_hover_explains_the_finding_under_the_cursor(server, project):
    """No link to a rule page without [project.urls]: the hover carries the explanation."""
    client = server()
    uri = (project / "train.py").as_uri()
    client.open(uri, EMOJI_SOURCE)
    diagnostics = client.diagnostics(uri, version=1)
    finding = next(d for d in diagnostics if d["code"] == "MLF101")
    hover = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": finding["range"]["start"]},
    )
    text = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert text.startswith(f"**MLF101** {finding['message']}")
    assert "# MLF101: metric-in-loop" in text and "## Why is this bad" in text
    nothing = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}},
    )
    assert nothing is None
