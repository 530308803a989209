"""Exports offered as browser downloads: a link whose ``data:`` URI holds the file itself.

Voila and Binder users see the notebook's server only through the browser, so a path on the
server is of no use to them. A ``data:`` link works in JupyterLab, Notebook 7 and Voila alike,
needs no server route and no extension; its cost is that the file travels inside the widget's
state (base64, a third larger), so files over :data:`MAX_DOWNLOAD` are offered as a path only.
"""

from __future__ import annotations

import base64
import html
import io
import zipfile
from pathlib import Path

MAX_DOWNLOAD = 64 * 2**20
LINK_STYLE = "display:inline-block;margin:2px 8px 2px 0"


def download_link(filename: str, data: bytes, mime: str, label: str | None = None) -> str:
    """An HTML link that downloads ``data`` as ``filename`` (or a line saying it is too large).

    Examples
    --------
    >>> download_link("a.csv", b"id\\n1\\n", "text/csv")
    '<a download="a.csv" href="data:text/csv;base64,aWQKMQo=" ...>a.csv (5 bytes)</a>'
    """
    size = _size(len(data))
    if len(data) > MAX_DOWNLOAD:
        return (
            f"<span>{html.escape(filename)} ({size}) is too large to download through the notebook "
            f"(over {_size(MAX_DOWNLOAD)}); copy it from the server.</span>"
        )
    href = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    text = html.escape(label or filename)
    return (
        f'<a download="{html.escape(filename)}" href="{href}" target="_blank" style="{LINK_STYLE}" '
        f'class="bsp-download">{text} ({size})</a>'
    )


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 2**20:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 2**20:.1f} MiB"


def zip_folder(folder: str | Path) -> bytes:
    """Every file under ``folder`` as a zip archive (names start with the folder's name).

    Examples
    --------
    >>> (tmp / "snap").mkdir(); _ = (tmp / "snap" / "manifest.json").write_text("{}")
    >>> zipfile.ZipFile(io.BytesIO(zip_folder(tmp / "snap"))).namelist()
    ['snap/manifest.json']
    """
    root = Path(folder).resolve()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            archive.write(path, f"{root.name}/{path.relative_to(root).as_posix()}")
    return buffer.getvalue()
