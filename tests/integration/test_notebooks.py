"""Every notebook in ``notebooks/`` runs top to bottom, and is committed without outputs.

Each notebook is executed by nbclient in a fresh kernel of this very interpreter
(a temporary kernelspec whose argv starts with ``sys.executable``), with Jupyter's
and IPython's folders pointed at temporary ones and the BrainSTEM variables removed,
so the notebook takes its sandbox path: it starts a local sandbox, uses it and stops
it. Nothing touches the network. The working directory is a temporary folder (the
notebooks write their snapshots and exports there).

Any error fails the test: nbclient raises ``CellExecutionError`` for a cell that
raised, and the outputs are checked again for error outputs and for tracebacks
printed to stderr. Processes the kernel started (the sandbox server) carry a marker
in their environment; any still running after the kernel has shut down is killed
and fails the test.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from jupyter_env import isolated_jupyter
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_linked_frames.ipynb",
    "03_snapshots.ipynb",
    "04_widgets.ipynb",
    "05_writing_records.ipynb",
    "06_nwb.ipynb",
]
CELL_TIMEOUT = 600  # seconds; the first sandbox start on a new machine builds its database
MARKER = "BSP_NOTEBOOK_RUN"
BRAINSTEM_VARIABLES = ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_URL")


def _marked_processes(marker: str) -> list[int]:
    """Pids of live processes whose environment holds ``MARKER=marker`` (Linux /proc; elsewhere none)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    wanted = f"{MARKER}={marker}".encode()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _reap(marker: str, grace: float = 20.0) -> list[int]:
    """Wait up to ``grace`` seconds for marked processes to end; kill and return those that do not."""
    deadline = time.monotonic() + grace
    while (left := _marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A temporary ``python3`` kernelspec of this interpreter and private Jupyter folders; returns the marker."""
    for name, value in isolated_jupyter(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in BRAINSTEM_VARIABLES:  # the notebooks must take their own-sandbox path
        monkeypatch.delenv(name, raising=False)
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, marker)  # inherited by the kernel and every process it starts
    return marker


def _problems(nb: nbformat.NotebookNode) -> list[str]:
    """Error outputs and tracebacks printed to stderr, as ``cell N: ...`` lines."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif (
                output.get("output_type") == "stream"
                and output.get("name") == "stderr"
                and "Traceback" in output.get("text", "")
            ):
                found.append(f"cell {index}: traceback on stderr:\n{output['text'][-3000:]}")
    return found


def test_the_notebooks_are_there():
    missing = set(EXPECTED) - {path.name for path in NOTEBOOKS}
    assert not missing, f"missing from notebooks/: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}, cell {index} has outputs; clear them before committing"
            assert cell.execution_count is None, f"{path.name}, cell {index} has an execution count"


@pytest.mark.timeout(3 * CELL_TIMEOUT)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, kernel_env: str, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    runner = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        runner.execute()  # raises CellExecutionError at the first cell that fails; shuts the kernel down
    finally:
        left = _reap(kernel_env)
    assert not left, f"{path.name} left processes running (killed now): {left}"
    problems = _problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before, "the notebook wrote next to itself"
