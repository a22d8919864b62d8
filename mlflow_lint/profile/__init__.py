"""`mlflow-lint profile`: run a program and measure the tracking requests it makes, per line
of the user's own code, next to the static findings of the same engine.

The data path, top to bottom:

    program.py   runs the program unchanged, in this interpreter (a script, `-m module`,
                 `-m pytest ...`), with its own argv, exit code and exceptions;
    probes.py    instruments MLflow at its narrow waists for the duration of the run: the
                 REST helper (HTTP tracking URIs, proxied artifacts), the tracking and
                 registry stores (local `sqlite:` and file stores: one operation, one database
                 transaction), the artifact repositories (uploads, downloads), the async
                 logging queues (to credit a queued call's request to the line that queued
                 it), thread starts (worker threads are followed) and child processes (counted,
                 not followed);
    recorder.py  credits each request to the innermost frame of the user's own code
                 (sites.py decides what that is) and counts loop iterations (loops.py);
    analysis.py  after the run: the engine's findings and loop estimates for the files that
                 made requests, joined with what was measured;
    render.py    the terminal table, or JSON.

Nothing here imports mlflow at import time: `check` and `fix` never load it, and `profile`
imports MLflow only through the program itself.
"""

from __future__ import annotations
