"""NWB metadata as a ``pynwb.NWBFile``, an ``.nwb`` file written atomically, or YAML.

pynwb and PyYAML are imported here, when first needed: the package works without
the ``nwb`` extra, and a call that needs it says how to install it. Files are
written next to their target under a temporary name and renamed into place, so a
failure leaves the previous file (or nothing), never half a file.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from brainstem_pandas.errors import ConfigurationError, MissingDependencyError

EXTRA = "pip install brainstem_pandas[nwb]"


def require(module: str) -> Any:
    """Import ``module`` of the ``nwb`` extra, or say how to install it.

    Examples
    --------
    >>> require("no_such_module_here")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.MissingDependencyError: no_such_module_here is needed for NWB files ...
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed for NWB files and is not installed: {EXTRA} (pynwb, nwbinspector, PyYAML)."
        ) from exc


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _subject(pynwb: Any, subject: dict[str, Any]) -> Any:
    if not subject:
        return None
    fields = {k: v for k, v in subject.items() if k != "date_of_birth"}
    return pynwb.file.Subject(**fields, date_of_birth=_when(subject.get("date_of_birth")))


def _add_devices(pynwb: Any, nwbfile: Any, devices: list[dict[str, str]]) -> None:
    """Devices, with their maker on a DeviceModel (pynwb 3 deprecated Device.manufacturer)."""
    for device in devices:
        model = None
        if device.get("manufacturer"):
            model = pynwb.device.DeviceModel(
                name=f"{device['name']} model",
                manufacturer=device["manufacturer"],
                description=device.get("description"),
            )
            nwbfile.add_device_model(model)
        nwbfile.add_device(pynwb.device.Device(name=device["name"], description=device.get("description"), model=model))


def build_nwbfile(metadata: dict[str, Any]) -> Any:
    """A ``pynwb.NWBFile`` holding ``metadata`` (the dict of :func:`~brainstem_pandas.nwb.nwb_metadata`), no data."""
    pynwb = require("pynwb")
    file_fields = dict(metadata.get("NWBFile") or {})
    start = _when(file_fields.pop("session_start_time", None))
    if start is None:
        raise ConfigurationError("NWB metadata needs NWBFile.session_start_time; build it with nwb_metadata().")
    nwbfile = pynwb.NWBFile(
        session_start_time=start,
        subject=_subject(pynwb, dict(metadata.get("Subject") or {})),
        **file_fields,
    )
    _add_devices(pynwb, nwbfile, list(metadata.get("Devices") or []))
    return nwbfile


def _target(path: str | os.PathLike) -> Path:
    target = Path(path)
    if target.is_dir():
        raise ConfigurationError(f"{target} is a folder: give a file name, e.g. {target / 'session.nwb'}.")
    if not target.parent.is_dir():
        raise ConfigurationError(f"Cannot write {target}: the folder {target.parent} does not exist.")
    return target


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary path)`` beside ``path``, then rename it to ``path``; on any failure remove it.

    Examples
    --------
    >>> write_atomically(tmp / "note.txt", lambda p: p.write_text("hello")).read_text()
    'hello'
    >>> sorted(p.name for p in tmp.iterdir())  # nothing else left behind
    ['note.txt']
    """
    target = _target(path)
    try:
        # Hidden, marked partial, and ending as the target does (pynwb warns about HDF5 files not ending in .nwb).
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".partial{target.suffix}")
    except OSError as exc:
        raise ConfigurationError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.replace(temporary, target)
    except OSError as exc:
        raise ConfigurationError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return target


def write_nwbfile(path: str | os.PathLike, nwbfile: Any) -> Path:
    """Write ``nwbfile`` to ``path`` (HDF5) atomically."""
    pynwb = require("pynwb")

    def write(temporary: Path) -> None:
        with pynwb.NWBHDF5IO(str(temporary), mode="w") as io:
            io.write(nwbfile)

    return write_atomically(path, write)


def metadata_yaml(metadata: dict[str, Any]) -> str:
    """``metadata`` as YAML, in the order neuroconv writes it (PyYAML's safe dumper: plain types only).

    PyYAML rather than ruamel.yaml (which hdmf brings): nwbinspector depends on it,
    and neuroconv reads metadata files with ``yaml.safe_load``.

    Examples
    --------
    >>> print(metadata_yaml({"NWBFile": {"session_id": "s1", "keywords": ["sleep"]}}), end="")
    NWBFile:
      session_id: s1
      keywords:
      - sleep
    """
    yaml = require("yaml")
    return yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
