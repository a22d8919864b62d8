"""The language server: `mlflow-lint server` speaks LSP over stdio (pygls, `mlflow-lint[lsp]`).

- Diagnostics on didOpen, didSave and (debounced) didChange, for Python documents; cleared on
  didClose. Each is a finding as `mlflow-lint check` reports it: same rules, message, `# noqa`,
  and configuration (the nearest pyproject.toml of the document's path, as the CLI finds it).
  A document the engine cannot analyse (a syntax error, a configuration error) gets one Error
  diagnostic. Like the CLI, a document that cannot hold a finding (no "mlflow" and no enabled
  rule's call name in it) is never parsed, so it gets no diagnostics at all.
- Jupyter notebooks (LSP notebook document sync, `notebookDocument/*`): the notebook's cells
  are checked together, as `mlflow-lint check` checks an `.ipynb` file (see notebook.py), and
  each cell gets its own diagnostics and quick fixes ("Fix all" is for files only).
- Code actions: one quickfix per fix (preferred when safe; unsafe fixes only when the
  configuration enables them, labelled "(unsafe)"), and "Fix all" (`source.fixAll.mlflow-lint`),
  which runs `mlflow-lint fix`'s repeat-until-stable loop on the document. Edits carry the
  document version.

Text is synchronised in full (TextDocumentSyncKind.Full): the document's text is kept here and
never goes through pygls's own line splitting, which breaks lines at \\f, \\v and U+2028 where
LSP (and the engine) only break at \\n, \\r\\n and \\r. Positions use the encoding negotiated at
initialize (pygls picks the client's first of UTF-8/UTF-16/UTF-32, UTF-16 by default); the
engine's columns are code points and are converted here, in both directions.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import tokenize
import traceback
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from mlflow_lint import __version__, dispatch, docs, engine
from mlflow_lint import notebook as notebooks
from mlflow_lint.config import ConfigError, Settings, build_settings, find_config
from mlflow_lint.rule import Fix, Safety, Violation
from mlflow_lint.rules import ALL_RULES, RULES_BY_CODE
from mlflow_lint.sourcefile import SourceError, line_starts

NAME = "mlflow-lint"
FIX_ALL_KIND = "source.fixAll.mlflow-lint"
FIX_ALL_TITLE = "Fix all MLF findings"
DEBOUNCE_SECONDS = 0.2  # didChange: analyse once typing pauses
PYTHON_SUFFIXES = (".py", ".pyi")
LINTED_SCHEMES = ("file", "untitled")  # notebook cells come with their notebook (publish_notebook)
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(
            cells=[types.NotebookCellLanguage(language="python")], notebook="*"
        )
    ]
)

logger = logging.getLogger(__name__)


# --- positions: engine offsets and code-point columns <-> LSP positions ------------------------
class Positions:
    """Positions in one text under an LSP position encoding ("utf-8", "utf-16", "utf-32").

    Lines break at \\n, \\r\\n and \\r only, as LSP and the engine count them. `shift` is the
    length of a leading BOM the engine did not see: its line-1 columns and offsets start after
    it."""

    def __init__(self, text: str, encoding: str, shift: int = 0) -> None:
        self.text = text
        self.encoding = encoding
        self.shift = shift
        self.starts = line_starts(text)

    def units(self, chars: str) -> int:
        if self.encoding == "utf-32":
            return len(chars)
        if self.encoding == "utf-8":
            return len(chars.encode("utf-8", "surrogatepass"))
        return len(chars) + sum(1 for c in chars if ord(c) > 0xFFFF)  # surrogate pairs

    def line_end(self, line: int) -> int:
        """Offset of the end of 0-based `line`'s content, before its line break."""
        if line + 1 >= len(self.starts):
            return len(self.text)
        end = self.starts[line + 1]
        if self.text.endswith("\r\n", 0, end) and end - 2 >= self.starts[line]:
            return end - 2
        return end - 1

    def position(self, offset: int) -> types.Position:
        """The position of a code-point offset into the text."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        offset = min(offset, self.line_end(line))
        return types.Position(line, self.units(self.text[self.starts[line] : offset]))

    def engine_offset(self, offset: int) -> int:
        """An offset into the text the engine saw -> an offset into this text."""
        return offset + self.shift

    def at(self, line: int, column: int) -> types.Position:
        """The position of the engine's 1-based line and 0-based code-point column."""
        if line > len(self.starts):  # e.g. "unexpected EOF" one line past the end
            return self.position(len(self.text))
        index = max(line, 1) - 1
        start = self.starts[index] + (self.shift if index == 0 else 0)
        return self.position(min(start + max(column, 0), self.line_end(index)))

    def offset(self, position: types.Position) -> int:
        """The code-point offset of an LSP position (clamped into the text)."""
        if position.line >= len(self.starts):
            return len(self.text)
        start, end = self.starts[position.line], self.line_end(position.line)
        if self.encoding == "utf-32":
            return min(start + position.character, end)
        units, index = 0, start
        while index < end and units < position.character:
            units += self.units(self.text[index])
            index += 1
        return index

    def range(self, start_offset: int, end_offset: int) -> types.Range:
        return types.Range(self.position(start_offset), self.position(end_offset))


# --- documents and their analysis --------------------------------------------------------------
@dataclass
class Analysis:
    """The findings of one version of a document."""

    version: Optional[int]
    text: str
    settings: Optional[Settings] = None
    findings: list[tuple[Violation, types.Diagnostic]] = field(default_factory=list)
    diagnostics: list[types.Diagnostic] = field(default_factory=list)  # findings', or an error


@dataclass
class Document:
    uri: str
    language_id: str
    version: Optional[int]
    text: str
    analysis: Optional[Analysis] = None
    notebook: Optional[str] = None  # a notebook cell: the notebook's URI

    @property
    def path(self) -> Optional[str]:
        """The file-system path, for file: URIs."""
        return to_fs_path(self.uri) if urlparse(self.uri).scheme == "file" else None

    @property
    def lintable(self) -> bool:
        if self.notebook is not None:
            return True
        if urlparse(self.uri).scheme not in LINTED_SCHEMES:
            return False
        path = self.path or urlparse(self.uri).path
        return self.language_id == "python" or path.endswith(PYTHON_SUFFIXES)


class MlflowLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            NAME,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            notebook_document_sync=NOTEBOOK_SYNC,
        )
        self.documents: dict[str, Document] = {}
        self.notebook_cells: dict[str, list[str]] = {}  # notebook URI -> its cells' URIs
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self._settings: dict[tuple[str, int, int], Settings] = {}

    # -- configuration, as the CLI finds it
    @property
    def position_encoding(self) -> str:
        """ "utf-8", "utf-16" or "utf-32", as pygls negotiated it at initialize."""
        encoding = self.workspace.position_encoding
        value = getattr(encoding, "value", encoding)  # an enum member or the client's string
        return value if value in ("utf-8", "utf-32") else "utf-16"

    def settings_for(self, path: Optional[str]) -> Settings:
        start = path or self.workspace.root_path or os.getcwd()
        config = find_config(start)
        if config is None:
            return build_settings(None)
        stat = config.stat()
        key = (str(config), stat.st_mtime_ns, stat.st_size)
        if key not in self._settings:
            self._settings[key] = build_settings(config)
        return self._settings[key]

    # -- analysis
    def analyze(self, document: Document) -> Analysis:
        """The document's findings (cached per version); never raises."""
        if document.notebook is not None:  # analysed with its notebook (publish_notebook)
            return document.analysis or Analysis(document.version, document.text)
        cached = document.analysis
        if cached is not None and (cached.version, cached.text) == (
            document.version,
            document.text,
        ):
            return cached
        try:
            analysis = self._analyze(document)
        except Exception as error:  # an engine bug must not take the editor's server down
            self.log(f"internal error on {document.uri}:\n{traceback.format_exc()}")
            analysis = Analysis(document.version, document.text)
            message = f"mlflow-lint internal error: {type(error).__name__}: {error} (see the log)"
            analysis.diagnostics.append(_error_diagnostic(message, types.Position(0, 0)))
        document.analysis = analysis
        return analysis

    def _analyze(self, document: Document) -> Analysis:
        text = document.text
        result = Analysis(document.version, text)
        if not document.lintable:
            return result
        bom = 1 if text.startswith("\ufeff") else 0  # editors rarely keep it; Python rejects it
        body = text[bom:]
        positions = Positions(text, self.position_encoding, bom)
        data = body.encode("utf-8", "surrogatepass")
        path = document.path or urlparse(document.uri).path
        try:
            settings = self.settings_for(document.path)
        except (ConfigError, OSError) as error:
            if engine.may_hold_findings(data, ALL_RULES):
                message = f"mlflow-lint configuration error: {error}"
                result.diagnostics.append(_error_diagnostic(message, types.Position(0, 0)))
            return result
        result.settings = settings
        rules = settings.rules_for(path)
        if not engine.may_hold_findings(data, rules):
            return result
        try:
            violations = engine.analyze(body, path, rules, settings)
        except SourceError as error:
            position = positions.at(error.line, error.column)
            result.diagnostics.append(_error_diagnostic(error.message, position))
            return result
        for violation in violations:
            diagnostic = _finding_diagnostic(violation, positions)
            result.findings.append((violation, diagnostic))
            result.diagnostics.append(diagnostic)
        return result

    def publish_notebook(self, uri: str) -> None:
        """Check a notebook's cells together; publish each cell's diagnostics."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None:
            return
        cells, texts = [], []
        for cell in notebook.cells:
            text = self.workspace.get_text_document(cell.document)
            kind = "code" if cell.kind == types.NotebookCellKind.Code else "markdown"
            language = text.language_id or "python"
            other = kind == "code" and not notebooks._is_python(language)
            cells.append((kind, text.source, language if other else ""))
            texts.append(text)
        analyses = [Analysis(text.version, text.source) for text in texts]
        parsed = urlparse(uri)
        path = (to_fs_path(uri) if parsed.scheme == "file" else None) or parsed.path
        try:
            settings = self.settings_for(path if parsed.scheme == "file" else None)
            notebook_of = notebooks.Notebook.of_cells(cells, notebook.metadata)
            result = notebooks.check_notebook(notebook_of, path, settings)
        except Exception as error:  # a configuration error, or an engine bug: say so, go on
            self.log(f"cannot check {uri}:\n{traceback.format_exc()}")
            if analyses:
                message = f"mlflow-lint cannot check this notebook: {error}"
                analyses[0].diagnostics.append(_error_diagnostic(message, types.Position(0, 0)))
            settings, result = None, None
        for violation in result.violations if result is not None else ():
            number = (violation.cell or 1) - 1
            positions = Positions(texts[number].source, self.position_encoding)
            diagnostic = _finding_diagnostic(violation, positions)
            analyses[number].findings.append((violation, diagnostic))
            analyses[number].diagnostics.append(diagnostic)
        if result is not None and result.error is not None and analyses:
            number = (result.error.cell or 1) - 1
            positions = Positions(texts[number].source, self.position_encoding)
            position = positions.at(result.error.line, result.error.column)
            analyses[number].diagnostics.append(_error_diagnostic(result.error.message, position))
        for gone in set(self.notebook_cells.get(uri, ())) - {c.document for c in notebook.cells}:
            self.clear(gone)
        self.notebook_cells[uri] = [cell.document for cell in notebook.cells]
        for cell, text, analysis in zip(notebook.cells, texts, analyses):
            analysis.settings = settings
            document = Document(cell.document, "python", text.version, text.source, analysis, uri)
            self.documents[cell.document] = document
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(cell.document, analysis.diagnostics, text.version)
            )

    def close_notebook(self, uri: str) -> None:
        for cell in self.notebook_cells.pop(uri, ()):
            self.clear(cell)

    def publish(self, uri: str) -> None:
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        document = self.documents.get(uri)
        if document is None or not document.lintable:
            return
        analysis = self.analyze(document)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri, analysis.diagnostics, document.version)
        )

    def publish_later(self, uri: str) -> None:
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (pygls's synchronous mode): no debounce
            self.publish(uri)
            return
        self.timers[uri] = loop.call_later(DEBOUNCE_SECONDS, self.publish, uri)

    def clear(self, uri: str) -> None:
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        document = self.documents.pop(uri, None)
        if document is not None and document.lintable:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    def log(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        self.window_log_message(types.LogMessageParams(kind, message))

    # -- hover: the finding's remedy and its rule's explanation
    def hover(self, params: types.HoverParams) -> Optional[types.Hover]:
        document = self.documents.get(params.text_document.uri)
        if document is None or not document.lintable:
            return None
        analysis = self.analyze(document)
        where = (params.position.line, params.position.character)
        parts = []
        for violation, diagnostic in analysis.findings:
            start, end = diagnostic.range.start, diagnostic.range.end
            if (start.line, start.character) <= where <= (end.line, end.character):
                parts.append(hover_text(violation))
        if not parts:
            return None
        return types.Hover(
            types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(parts))
        )

    # -- code actions
    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        document = self.documents.get(params.text_document.uri)
        if document is None or not document.lintable:
            return []
        analysis = self.analyze(document)
        settings = analysis.settings
        if settings is None or not analysis.findings:
            return []
        only = params.context.only
        actions: list[types.CodeAction] = []
        if _wanted(types.CodeActionKind.QuickFix, only):
            actions.extend(self._quick_fixes(document, analysis, settings, params))
        if (
            _wanted(FIX_ALL_KIND, only)
            and document.notebook is None
            and any(engine.applicable(v, settings.unsafe_fixes) for v, _ in analysis.findings)
        ):
            action = self._fix_all_action(document, settings.unsafe_fixes)
            if self._can_resolve_edits():  # computed when chosen: see resolve_fix_all
                actions.append(action)
            else:
                action.edit = self._fix_all_edit(document)
                if action.edit is not None:
                    actions.append(action)
        return actions

    def _quick_fixes(
        self,
        document: Document,
        analysis: Analysis,
        settings: Settings,
        params: types.CodeActionParams,
    ) -> list[types.CodeAction]:
        shift = 1 if document.text.startswith("\ufeff") else 0
        positions = Positions(document.text, self.position_encoding, shift)
        wanted_start = positions.offset(params.range.start)
        wanted_end = positions.offset(params.range.end)
        asked = {_key(d) for d in params.context.diagnostics if d.source == NAME}
        # Findings that share one fix (e.g. every call a buffering fix rewrites) get one action.
        groups: dict[Fix, list[tuple[Violation, types.Diagnostic]]] = {}
        for violation, diagnostic in analysis.findings:
            if violation.fix is not None and engine.applicable(violation, settings.unsafe_fixes):
                groups.setdefault(violation.fix, []).append((violation, diagnostic))
        actions = []
        for fix, findings in groups.items():
            if not any(
                _key(d) in asked
                or (
                    positions.offset(d.range.start) <= wanted_end
                    and wanted_start <= positions.offset(d.range.end)
                )
                for _, d in findings
            ):
                continue
            edits = [
                types.TextEdit(
                    positions.range(
                        positions.engine_offset(edit.start), positions.engine_offset(edit.end)
                    ),
                    edit.content,
                )
                for edit in fix.edits
            ]
            safe = fix.safety is Safety.SAFE
            title = f"Fix {findings[0][0].code}: {fix.description}" + ("" if safe else " (unsafe)")
            actions.append(
                types.CodeAction(
                    title=title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[d for _, d in findings],
                    is_preferred=safe,
                    edit=self._workspace_edit(document, edits),
                )
            )
        return actions

    def _fix_all_action(self, document: Document, unsafe: bool) -> types.CodeAction:
        title = FIX_ALL_TITLE + (" (including unsafe fixes)" if unsafe else "")
        return types.CodeAction(
            title=title,
            kind=FIX_ALL_KIND,
            data={"uri": document.uri, "version": document.version},
        )

    def resolve_fix_all(self, action: types.CodeAction) -> types.CodeAction:
        """Compute the "Fix all" edit: `mlflow-lint fix` on the document's current text."""
        data = action.data if isinstance(action.data, dict) else {}
        document = self.documents.get(str(data.get("uri")))
        if action.kind != FIX_ALL_KIND or document is None:
            return action
        action.edit = self._fix_all_edit(document) or types.WorkspaceEdit()
        return action

    def _fix_all_edit(self, document: Document) -> Optional[types.WorkspaceEdit]:
        """One edit over the lines `mlflow-lint fix` changes; None when it changes nothing."""
        try:
            new_text = self._fixed_text(document)
        except Exception:
            self.log(f"internal error fixing {document.uri}:\n{traceback.format_exc()}")
            return None
        if new_text is None or new_text == document.text:
            return None
        positions = Positions(document.text, self.position_encoding)
        start, old_end, new_end = changed_lines(document.text, new_text)
        edit = types.TextEdit(positions.range(start, old_end), new_text[start:new_end])
        return self._workspace_edit(document, [edit])

    def _fixed_text(self, document: Document) -> Optional[str]:
        settings = self.analyze(document).settings
        if settings is None:
            return None
        path = document.path or urlparse(document.uri).path
        # The engine works on a file's bytes, decoded as its coding cookie says: encode the
        # text the same way, so that `# -*- coding: latin-1 -*-` round-trips.
        data = document.text.encode("utf-8", "surrogatepass")
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            if encoding not in ("utf-8", "utf-8-sig"):
                data = document.text.encode(encoding)
        except (SyntaxError, LookupError, UnicodeError):
            return None
        result, new_data = dispatch.fix_source(data, path, settings)
        if result.error is not None:
            self.log(f"{document.uri}: not fixed: {result.error.message}", types.MessageType.Info)
        if new_data is None:
            return None
        # utf-8-sig: the BOM stays in the editor's text as it was
        return new_data.decode("utf-8" if encoding == "utf-8-sig" else encoding)

    def _workspace_edit(
        self, document: Document, edits: list[types.TextEdit]
    ) -> types.WorkspaceEdit:
        """The edits with the document's version, or (for clients without versioned edits,
        which cannot take a version) keyed by URI."""
        workspace = self.client_capabilities.workspace
        versioned = workspace is not None and workspace.workspace_edit is not None
        if versioned and workspace and workspace.workspace_edit:
            versioned = bool(workspace.workspace_edit.document_changes)
        if not versioned:
            return types.WorkspaceEdit(changes={document.uri: edits})
        identifier = types.OptionalVersionedTextDocumentIdentifier(
            uri=document.uri, version=document.version
        )
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=list(edits))]
        )

    def _can_resolve_edits(self) -> bool:
        text_document = self.client_capabilities.text_document
        code_action = text_document.code_action if text_document else None
        support = code_action.resolve_support if code_action else None
        return support is not None and "edit" in support.properties


def _finding_diagnostic(violation: Violation, positions: Positions) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(
            positions.at(violation.line, violation.column),
            positions.at(violation.end_line, violation.end_column),
        ),
        message=violation.message,
        severity=types.DiagnosticSeverity.Warning,
        code=violation.code,
        code_description=_code_description(violation.code),
        source=NAME,
    )


def hover_text(violation: Violation) -> str:
    """`CODE message`, the remedy, and the rule's page (what `mlflow-lint rule CODE` prints)."""
    lines = [f"**{violation.code}** {violation.message}"]
    if violation.help:
        lines.append(f"help: {violation.help}")
    rule = RULES_BY_CODE.get(violation.code)
    if rule is not None:
        lines.append(docs.render_rule(rule))
    return "\n\n".join(lines)


def _code_description(code: str) -> Optional[types.CodeDescription]:
    """A link to the rule's page, when `[project.urls]` says where it is published; the
    explanation itself is in the hover either way."""
    url = docs.rule_url(code)
    return types.CodeDescription(href=url) if url else None


def _error_diagnostic(message: str, position: types.Position) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(position, position),
        message=message,
        severity=types.DiagnosticSeverity.Error,
        source=NAME,
    )


def _key(diagnostic: types.Diagnostic) -> tuple[Any, ...]:
    r = diagnostic.range
    return (diagnostic.code, r.start.line, r.start.character, r.end.line, r.end.character)


def _wanted(kind: str, only: Optional[Any]) -> bool:
    """Whether an action of `kind` is asked for: `only` lists kinds or their parents ("" is
    every kind). Kinds come as enum members or strings; str() of a member is its name."""
    if only is None:
        return True
    value: str = getattr(kind, "value", kind)
    asked = [getattr(o, "value", o) for o in only]
    return any(o == "" or value == o or value.startswith(o + ".") for o in asked)


def changed_lines(old: str, new: str) -> tuple[int, int, int]:
    """(start, end in old, end in new) of the whole lines where two texts differ: one edit that
    leaves the unchanged lines (and the editor's marks on them) alone."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    suffix = 0
    while suffix < limit - start and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    old_end, new_end = len(old) - suffix, len(new) - suffix
    lines = Positions(old, "utf-32")
    start = lines.starts[bisect_right(lines.starts, start) - 1]  # the common prefix's line start
    line = bisect_right(lines.starts, old_end) - 1
    line_end = lines.line_end(line)
    if old_end > line_end:  # inside a \r\n: take the whole line break
        line_end = lines.starts[line + 1]
    return start, line_end, new_end + line_end - old_end  # the rest of the line is common


# --- the protocol --------------------------------------------------------------------------------
def did_open(ls: MlflowLintServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    ls.documents[item.uri] = Document(item.uri, item.language_id, item.version, item.text)
    ls.publish(item.uri)


def did_change(ls: MlflowLintServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.documents.get(params.text_document.uri)
    if document is None:
        return
    for change in params.content_changes:
        if isinstance(change, types.TextDocumentContentChangePartial):  # despite Full sync
            positions = Positions(document.text, ls.position_encoding)
            start = positions.offset(change.range.start)
            end = positions.offset(change.range.end)
            document.text = document.text[:start] + change.text + document.text[end:]
        else:
            document.text = change.text
    document.version = params.text_document.version
    ls.publish_later(document.uri)


def did_save(ls: MlflowLintServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    document = ls.documents.get(uri)
    if document is not None and params.text is not None:
        document.text = params.text
    if urlparse(uri).path.endswith("/pyproject.toml"):  # configuration may have changed
        for other in list(ls.documents):
            ls.documents[other].analysis = None
            ls.publish(other)
    elif document is not None:
        document.analysis = None  # the configuration is read again
        ls.publish(uri)


def did_close(ls: MlflowLintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.clear(params.text_document.uri)


def did_open_notebook(ls: MlflowLintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.publish_notebook(params.notebook_document.uri)


def did_change_notebook(
    ls: MlflowLintServer, params: types.DidChangeNotebookDocumentParams
) -> None:
    ls.publish_notebook(params.notebook_document.uri)


def did_save_notebook(ls: MlflowLintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    ls.publish_notebook(params.notebook_document.uri)


def did_close_notebook(ls: MlflowLintServer, params: types.DidCloseNotebookDocumentParams) -> None:
    ls.close_notebook(params.notebook_document.uri)


def code_action(ls: MlflowLintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    return ls.code_actions(params)


def hover(ls: MlflowLintServer, params: types.HoverParams) -> Optional[types.Hover]:
    return ls.hover(params)


def code_action_resolve(ls: MlflowLintServer, action: types.CodeAction) -> types.CodeAction:
    return ls.resolve_fix_all(action)


def shutdown(ls: MlflowLintServer, *args: Any) -> None:
    for timer in ls.timers.values():
        timer.cancel()
    ls.timers.clear()


def create_server() -> MlflowLintServer:
    server = MlflowLintServer()
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))(did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)(did_open_notebook)
    server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)(did_change_notebook)
    server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)(did_save_notebook)
    server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)(did_close_notebook)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )(code_action)
    server.feature(types.CODE_ACTION_RESOLVE)(code_action_resolve)
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    server.feature(types.SHUTDOWN)(shutdown)
    return server


def serve() -> None:
    """Run the server over stdin/stdout until the client says exit."""
    create_server().start_io()


__all__ = ["MlflowLintServer", "Positions", "changed_lines", "create_server", "serve"]
