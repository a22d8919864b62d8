"""MLF107 (files uploaded one `log_artifact` call at a time) and MLF109 (a small artifact per
iteration): the shapes of real code each rule reports, the ones it leaves alone, and the
advice it gives, in-process. What the messages claim about MLflow is checked against real
MLflow in test_artifacts_mlflow.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import pytest

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.rule import Violation


def findings(source: str, code: str) -> list[Violation]:
    settings = build_settings(None, select=[code], unsafe_fixes=True)
    text = textwrap.dedent(source)
    return engine.analyze(text, "example.py", settings.rules_for("example.py"), settings)


def lines(source: str, code: str) -> list[int]:
    return [v.line for v in findings(source, code)]


def fixed(source: str, code: str = "MLF107") -> Optional[str]:
    settings = build_settings(None, select=[code], unsafe_fixes=True)
    result, new = engine.fix_source(textwrap.dedent(source).encode(), "example.py", settings)
    assert result.error is None, result.error
    return new.decode() if new is not None else None


HEAD = """
import glob
import os
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
"""


# --- MLF107: uploads reported ----------------------------------------------------------------
@pytest.mark.parametrize(
    "loop",
    [
        # a list of paths handed in by the caller
        "def upload(paths):\n    for path in paths:\n        mlflow.log_artifact(path, 'extra')\n",
        # a listing kept in a variable first
        "def upload(d):\n    names = sorted(os.listdir(d))\n    print(len(names))\n"
        "    for name in names:\n        mlflow.log_artifact(os.path.join(d, name))\n",
        # files written into a temporary folder and uploaded one by one
        "def save(figures):\n    with tempfile.TemporaryDirectory() as tmp:\n"
        "        for name, figure in figures.items():\n"
        "            target = os.path.join(tmp, f'{name}.png')\n"
        "            figure.savefig(target)\n            mlflow.log_artifact(target, 'plots')\n",
        # a filter by suffix keeps many entries: still one upload each
        "def upload(d):\n    for p in Path(d).iterdir():\n        if p.suffix == '.png':\n"
        "            mlflow.log_artifact(str(p))\n",
        # everything but one entry (the else branch of a pick)
        "def upload(d):\n    for name in os.listdir(d):\n        if name == 'model.pkl':\n"
        "            pass\n        else:\n            mlflow.log_artifact(os.path.join(d, name))\n",
        # a literal collection that is assigned only on one branch
        "def upload(paths):\n    if isinstance(paths, str):\n        paths = [paths]\n"
        "    for path in paths:\n        mlflow.log_artifact(path)\n",
        # an index over a collection: the item names the file
        "def upload(paths):\n    for i, path in enumerate(paths):\n"
        "        mlflow.log_artifact(path, f'part_{i}')\n",
    ],
)
def test_per_file_uploads_in_loops(loop: str) -> None:
    assert len(lines(HEAD + loop, "MLF107")) == 1, loop


def test_client_uploads_through_every_receiver() -> None:
    source = HEAD + textwrap.dedent(
        """
        class Tracker:
            def __init__(self, uri):
                self.uri = uri
                self._client = None
                self._mlflow = mlflow

            @property
            def client(self) -> MlflowClient:
                if self._client is None:
                    self._client = MlflowClient(self.uri)
                return self._client

            def upload(self, run_id, paths):
                for path in paths:
                    self.client.log_artifact(run_id, path)

            def upload_fluent(self, paths):
                for path in paths:
                    self._mlflow.log_artifact(path)

        def export(client: MlflowClient, run_id, paths):
            for path in paths:
                client.log_artifact(run_id, path, artifact_path="export")
        """
    )
    found = findings(source, "MLF107")
    assert [v.message.split("`")[1] for v in found] == [
        "MlflowClient.log_artifact",
        "mlflow.log_artifact",
        "MlflowClient.log_artifact",
    ]
    assert "self.client.log_artifacts(run_id, folder, artifact_path)" in found[0].help
    assert "self._mlflow.log_artifacts(folder, artifact_path)" in found[1].help


def test_other_trackers_look_alike_uploads_are_not_mlflow() -> None:
    source = HEAD + textwrap.dedent(
        """
        import wandb

        def upload(run, experiment, paths):
            mlflow.set_tag("exported", "yes")
            for path in paths:
                experiment.log_artifact(path)
                run.log_artifact(path)
                wandb.log_artifact(path)
        """
    )
    assert lines(source, "MLF107") == []


def test_one_finding_per_loop_and_through_helpers() -> None:
    source = HEAD + textwrap.dedent(
        """
        def plot(kind):
            path = f"importance_{kind}.png"
            mlflow.log_artifact(path)

        def importance(kinds):
            for kind in kinds:
                plot(kind)
                mlflow.log_artifact(f"importance_{kind}.json")

        def helper_only(kinds):
            for kind in kinds:
                plot(kind)
        """
    )
    found = findings(source, "MLF107")
    assert [v.line for v in found] == [17, 21]
    assert "`plot -> mlflow.log_artifact`" in found[1].message


def test_runs_of_adjacent_uploads(tmp_path: Path) -> None:
    source = HEAD + textwrap.dedent(
        """
        def close(client: MlflowClient, run_id, folder):
            client.log_artifact(run_id, os.path.join(folder, "params.pt"))
            client.log_artifact(run_id, os.path.join(folder, "optimizer.pt"))
            # the history, for the report
            client.log_artifact(run_id, os.path.join(folder, "history.json"))

            client.log_artifact(run_id, os.path.join(folder, "criterion.pt"))

        def two(a, b):
            mlflow.log_artifact(a)
            mlflow.log_artifact(b)

        def other_runs(client: MlflowClient, first, second, third, path):
            client.log_artifact(first, path)
            client.log_artifact(second, path)
            client.log_artifact(third, path)
        """
    )
    found = findings(source, "MLF107")
    assert [(v.line, v.end_line) for v in found] == [(11, 16)]
    assert found[0].message == "4 adjacent `MlflowClient.log_artifact` calls upload one file each"
    assert "client.log_artifacts(run_id, folder, artifact_path)" in found[0].help
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.mlflow-lint.MLF107]\nmin-calls = 2\n")
    loose = build_settings(config, select=["MLF107"])
    text = textwrap.dedent(source)
    assert [v.line for v in engine.analyze(text, "e.py", loose.rules_for("e.py"), loose)] == [
        11,
        19,
    ]


# --- MLF107: not reported ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "loop",
    [
        # one picked entry of a listing (#12 item 5)
        "for name in os.listdir(d):\n    if name == 'model.pkl':\n"
        "        mlflow.log_artifact(os.path.join(d, name))\n",
        "for p in Path(d).iterdir():\n    if p.name == best:\n        mlflow.log_artifact(p)\n",
        "for p in glob.glob(d + '/*'):\n    if target == os.path.basename(p) and ok:\n"
        "        mlflow.log_artifact(p)\n",
        "for item in Path(d).iterdir():\n    if item.is_dir():\n"
        "        if item.stem == 'pipelines':\n            mlflow.log_artifact(item / pid)\n",
        # the first match, then break
        "for name in sorted(os.listdir(d)):\n    if name.endswith('.json'):\n"
        "        mlflow.log_artifact(os.path.join(d, name))\n        break\n",
        # a small literal collection, written in the loop or kept in a variable just before
        "for kind in ('split', 'gain'):\n    mlflow.log_artifact(f'importance_{kind}.json')\n",
        "plots = ['diagnostics', 'decomp', 'diff']\nwith mlflow.start_run():\n"
        "    for plot in plots:\n        mlflow.log_artifact(f'{plot}.png')\n",
        # counters name the upload: a checkpoint per epoch
        "for epoch in range(3):\n    mlflow.log_artifact(f'ckpt_{epoch}.pt')\n",
        "for step, batch in enumerate(loader):\n    mlflow.log_artifact(f'step_{step}.pt')\n",
        # the same file each iteration, a while loop
        "for epoch in range(3):\n    mlflow.log_artifact('model.pt')\n",
        "for item in items:\n    mlflow.log_artifact('summary.json')\n",
        "while pending:\n    mlflow.log_artifact(pending.pop())\n",
        # one file per run
        "for run in runs:\n    MlflowClient().log_artifact(run.info.run_id, f'{run.info.run_id}.json')\n",
        "for run_id, path in pairs:\n    mlflow.log_artifact(path, run_id=run_id)\n",
        "for path in paths:\n    with mlflow.start_run():\n        mlflow.log_artifact(path)\n",
        # a helper that uploads one fixed file
        "def save():\n    mlflow.log_artifact('model.pt')\nfor path in paths:\n    save()\n",
        # each file to its own artifact path: a layout of named artifacts, not a bundle
        "def upload(files):\n    for path, folder in files.items():\n"
        "        mlflow.log_artifact(path, folder)\n",
        "for name, ckpt in best_k.items():\n    mlflow.log_artifact(ckpt, f'checkpoints/{name}')\n",
        "def put(client: MlflowClient, run_id, frame, name):\n"
        "    client.log_artifact(run_id, frame, artifact_path=f'tables/{name}')\n"
        "for name, frame in frames:\n    put(client, run_id, frame, name)\n",
    ],
)
def test_not_per_file(loop: str) -> None:
    assert lines(HEAD + loop, "MLF107") == [], loop


# --- MLF107: advice and fixes ------------------------------------------------------------------
def test_help_names_the_folder_the_files_are_written_into() -> None:
    source = HEAD + textwrap.dedent(
        """
        def save(figures, epoch):
            with tempfile.TemporaryDirectory() as tmp:
                for name, figure in figures.items():
                    path = os.path.join(tmp, f"{name}.png")
                    figure.savefig(path)
                    mlflow.log_artifact(path, artifact_path=f"plots/{epoch}")
        """
    )
    [found] = findings(source, "MLF107")
    assert found.message == "`mlflow.log_artifact` in a loop uploads the files one call at a time"
    assert found.help.startswith(
        "Upload `tmp`, where the files are written, once after the loop with one "
        "`mlflow.log_artifacts(tmp, artifact_path)` call."
    )
    assert "an `mlflow server`, S3, GCS and Azure Blob still take one request per file" in (
        found.help
    )
    assert "`shutil.make_archive`" in found.help


@pytest.mark.parametrize(
    ("loop", "tree"),
    [
        ("for p in Path(d).iterdir():\n    mlflow.log_artifact(p, 'all')\n", True),
        ("for p in glob.glob(f'{d}/*'):\n    mlflow.log_artifact(p, 'all')\n", True),
        ("for p in glob.glob(f'{d}/*.png'):\n    mlflow.log_artifact(p, 'all')\n", False),
        (
            "for p in Path(d).iterdir():\n    if p.is_file():\n        mlflow.log_artifact(p)\n",
            False,
        ),
        (
            "for root, _, files in os.walk(d):\n    for f in files:\n"
            "        mlflow.log_artifact(os.path.join(root, f))\n",
            False,
        ),
    ],
)
def test_help_says_a_directory_entry_is_uploaded_as_a_tree(loop: str, tree: bool) -> None:
    [found] = findings(HEAD + loop, "MLF107")
    assert ("uploaded as a whole tree" in found.help) is tree


def test_fix_of_a_listing_kept_in_a_variable_just_before_the_loop() -> None:
    source = HEAD + "names = os.listdir(d)\nfor name in names:\n"
    source += "    mlflow.log_artifact(os.path.join(d, name), artifact_path='out')\n"
    assert fixed(source) == textwrap.dedent(HEAD) + (
        "names = os.listdir(d)\nmlflow.log_artifacts(local_dir=d, artifact_path='out')\n"
    )
    [found] = findings(source, "MLF107")
    assert found.help.startswith(
        "Upload the directory with one `mlflow.log_artifacts(local_dir=d, artifact_path='out')`"
    )
    apart = HEAD + "names = os.listdir(d)\nprint(names)\nfor name in names:\n"
    apart += "    mlflow.log_artifact(os.path.join(d, name))\n"
    assert lines(apart, "MLF107") == [12] and fixed(apart) is None


def test_no_fix_where_the_loop_is_not_the_whole_directory() -> None:
    for loop in (
        "def f(paths):\n    for path in paths:\n        mlflow.log_artifact(path)\n",
        "for p in glob.glob('out/*'):\n    mlflow.log_artifact(p)\n",  # skips dotfiles
        "for f in os.listdir(d):\n    mlflow.log_artifact(os.path.join(d, f), f)\n",
    ):
        assert lines(HEAD + loop, "MLF107"), loop
        assert fixed(HEAD + loop) is None, loop


# --- MLF109 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "loop",
    [
        "for epoch in range(3):\n    mlflow.log_dict(s, f'summaries/epoch_{epoch}.json')\n",
        "for i, text in enumerate(texts):\n    mlflow.log_text(text, 'sample_%d.txt' % i)\n",
        "for i in range(n):\n    mlflow.log_text(t, 'sample_{}.txt'.format(i))\n",
        "for row in rows:\n    mlflow.log_dict(row, os.path.join('rows', row['id'] + '.json'))\n",
        # one table appended to, whatever the loop iterates
        "for name, rows in tables.items():\n    mlflow.log_table(rows, artifact_file='all.json')\n",
        # through a helper, given a template of the loop variable
        "def save(d, name):\n    mlflow.log_dict(d, name)\n"
        "for epoch in range(3):\n    save(s, f'epoch_{epoch}.json')\n",
    ],
)
def test_small_artifact_per_iteration(loop: str) -> None:
    assert len(lines(HEAD + loop, "MLF109")) == 1, loop


def test_a_table_appended_to_is_reported_even_once_per_run() -> None:
    # a function that runs once per run holds its loops over a mapping's entries (a handful
    # of requests); a table appended to is read back and uploaded whole on every call
    appends = "def report(tables):\n    for name, rows in tables.items():\n"
    appends += "        mlflow.log_table(rows, artifact_file='all.json')\n"
    assert len(lines(HEAD + appends, "MLF109")) == 1
    distinct = appends.replace("artifact_file='all.json'", "artifact_file=f'{name}.json'")
    assert lines(HEAD + distinct, "MLF109") == []


@pytest.mark.parametrize(
    "loop",
    [
        # a fixed set of distinct named artifacts (#12 "not worth reporting")
        "for name, fig in figures.items():\n    mlflow.log_figure(fig, f'{name}.png')\n",
        "for name in ('roc', 'pr'):\n    mlflow.log_dict({}, f'{name}.json')\n",
        "for figure_name in figures:\n    mlflow.log_figure(figures[figure_name], figure_name)\n",
        "for file in folder.glob('*.txt'):\n    mlflow.log_text(file.read_text(), file.name)\n",
        "for key in keys:\n    mlflow.log_dict(data[key], NAMES[key])\n",
        "client = MlflowClient()\nfor filename, content in artifacts.items():\n"
        "    client.log_text(run_id, content, filename)\n",
        # the latest state, overwritten
        "for epoch in range(3):\n    mlflow.log_dict(state, 'state.json')\n",
        # one pick; the stepped image API
        "for name, d in reports.items():\n    if name == 'summary':\n"
        "        mlflow.log_dict(d, f'{name}.json')\n",
        "for step in range(3):\n    mlflow.log_image(img, key='pred', step=step)\n",
        # figures and images: documents of their own, one upload each however they are sent
        "for step in range(n):\n    mlflow.log_image(img, f'pred_{step}.png')\n",
        "for fig, i in zip(figs, ids):\n    mlflow.log_figure(fig, f'fig_{i}.png')\n",
        # helpers over named things: a mapping, or a list argument (no template)
        "def log_table(client, run_id, rows, artifact_file):\n"
        "    client.log_table(run_id, rows, artifact_file)\n"
        "def log_all(client: MlflowClient, run_id, tables):\n"
        "    for name, rows in tables.items():\n"
        "        log_table(client, run_id, rows, f'inspect/{name}.json')\n",
        "def log_one(d, context):\n    mlflow.log_dict(d, '/'.join(context) + '.json')\n"
        "for i, d in enumerate(containers):\n    log_one(d, [prefix, str(i)])\n",
    ],
)
def test_not_a_small_artifact_per_iteration(loop: str) -> None:
    assert lines(HEAD + loop, "MLF109") == [], loop


def test_small_artifact_advice_in_the_codes_own_spelling() -> None:
    source = HEAD + textwrap.dedent(
        """
        class Logger:
            def __init__(self):
                self.client = MlflowClient()

            def samples(self, run_id, texts):
                for i, text in enumerate(texts):
                    self.client.log_text(run_id, text, f"samples/{i}.txt")

            def history(self, run_id, points):
                for step, value in enumerate(points):
                    self.client.log_table(run_id, {"v": [value]}, "history.json")
        """
    )
    text, table = findings(source, "MLF109")
    assert (
        text.message == "`MlflowClient.log_text` in a loop uploads one small artifact per iteration"
    )
    assert text.help == (
        "Collect the texts and log them once after the loop, as one "
        "`self.client.log_text(run_id, ...)` or as the rows of one "
        "`self.client.log_table(run_id, ...)`."
    )
    assert table.message == (
        "`MlflowClient.log_table` in a loop appends to one file: each call downloads and "
        "re-uploads it"
    )
    assert table.help == (
        "Collect the rows and log the table once after the loop with "
        "`self.client.log_table(run_id, ...)`."
    )
