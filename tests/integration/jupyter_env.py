"""A private Jupyter set-up for tests that run kernels (nbclient, Voila): nothing from the user's or the network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

FOLDERS = {
    "JUPYTER_CONFIG_DIR": "jupyter-config",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "IPYTHONDIR": "ipython",
}


def isolated_jupyter(root: Path) -> dict[str, str]:
    """Environment variables for Jupyter under ``root``: a ``python3`` kernel of this interpreter first on
    ``JUPYTER_PATH``, and temporary config, data, runtime and IPython folders."""
    share = root / "jupyter-path"
    spec = share / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (brainstem_pandas tests)",
                "language": "python",
                "metadata": {"debugger": False},
            }
        )
    )
    env = {"JUPYTER_PATH": str(share), "JUPYTER_PLATFORM_DIRS": "1"}  # no migration warning from jupyter_core
    for name, folder in FOLDERS.items():
        (root / folder).mkdir()
        env[name] = str(root / folder)
    return env
