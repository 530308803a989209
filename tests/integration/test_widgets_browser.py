"""The Explorer in a real browser: a notebook served by Voila, driven by Playwright in headless Chromium.

``tests/browser/explorer.ipynb`` shows ``Explorer()``; Voila runs it in a kernel
of this interpreter with ``BRAINSTEM_URL`` pointing at the sandbox, so the sign-in
form starts on the sandbox's address. The test does what a user does in the page:
paste the sandbox's access token and sign in, choose ``session``, add a filter
(name contains some text), press Load, and read the row count the page shows; it
must equal what ``bsp.connect(...).read`` gives for the same filter. Then the result
grid: its count of entries, a column sorted by clicking its header, and the cell read
back; then the Export tab: CSV files written, and one downloaded through its link (the
browser's download event), its bytes equal to the file on the server. Screenshots of the
Explorer before and after loading are saved in ``<tmp_path>/screenshots`` (and copied
to the folder ``BSP_SCREENSHOTS`` names, when set); their paths are printed (``-s``).

Needs Debian's ``chromium`` (``/usr/bin/chromium``; ``playwright install`` is never
used) and the Python packages ``voila``, ``playwright`` and ``ipykernel``. Without
them the test is skipped, or fails when ``CI=true``. Nothing leaves the machine:
the browser's requests to any host but 127.0.0.1/localhost are aborted, and
Jupyter's config, data and runtime folders are temporary ones.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pandas as pd
import pytest
import requests
from jupyter_env import isolated_jupyter

import brainstem_pandas as bsp

NOTEBOOK = Path(__file__).parent / "browser" / "explorer.ipynb"
CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Generous: the machine may be busy. Timeouts only bound waits for something the page must show; nothing is timed.
START_TIMEOUT = 180  # s, Voila answering HTTP
RENDER_TIMEOUT = 240_000  # ms, page load, kernel start and the notebook's run until the form shows
ACTION_TIMEOUT = 120_000  # ms, a sign-in or a load answered in the page


def unavailable(reason: str) -> None:
    """Skip for lack of a tool; under CI=true the lack is a failure."""
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(f"{reason} (CI=true: the browser test must run)", pytrace=False)
    pytest.skip(reason)


def require_tools() -> None:
    missing = [name for name in ("playwright", "voila", "ipykernel") if importlib.util.find_spec(name) is None]
    if missing:
        unavailable(
            f"the browser test needs the Python packages {', '.join(missing)} (pip install voila playwright ipykernel)"
        )
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"the browser test needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (Linux /proc; empty elsewhere). Kernels run in sessions of their own."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


@contextmanager
def voila(notebook: Path, env_extra: dict[str, str], work: Path) -> Iterator[str]:
    """Serve ``notebook`` with Voila on a free loopback port; yield its URL; always stop it and its kernels."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")
    }
    env.update(
        {
            **isolated_jupyter(work),
            "PYTHONUNBUFFERED": "1",
            **env_extra,
        }
    )
    log_path = work / "voila.log"
    command = [
        sys.executable,
        "-m",
        "voila",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.show_tracebacks=True",
        str(notebook),
    ]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Voila exited with {proc.returncode} before answering:\n{log_path.read_text()[-4000:]}")
            try:
                requests.get(f"{url}/voila/static/", timeout=5)  # any answer will do: the server is up
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"Voila did not answer at {url} within {START_TIMEOUT} s:\n{log_path.read_text()[-4000:]}"
                    )
                time.sleep(0.5)
        yield url
    finally:
        # Kernels run in sessions of their own: note them before Voila, their parent, goes.
        kernels = descendants(proc.pid)
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(wait)
                except subprocess.TimeoutExpired:
                    continue
        kill([pid for pid in kernels if Path(f"/proc/{pid}").exists()], signal.SIGKILL)


def is_local(url: str) -> bool:
    return urlsplit(url).hostname in LOCAL_HOSTS


def shown(page: Any) -> str:
    """The page's visible text, for failure messages."""
    try:
        return page.locator("body").inner_text(timeout=10_000)[-4000:]
    except Exception as exc:  # the page may be gone
        return f"(page text unavailable: {exc})"


def wait_for(page: Any, locator: Any, what: str, timeout: float = ACTION_TIMEOUT, state: str = "visible") -> Any:
    """Wait for ``locator``; on time-out fail with what the page shows (an error message, most likely)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.first.wait_for(state=state, timeout=timeout)
    except PlaywrightTimeout:
        pytest.fail(f"{what} did not appear within {timeout / 1000:.0f} s. The page shows:\n{shown(page)}")
    return locator.first


def button(page: Any, text: str) -> Any:
    """The visible widget button whose text is ``text`` (its icon is a CSS glyph, not text)."""
    return page.locator("button.jupyter-button:visible").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def choose(select: Any, pattern: str) -> str:
    """Select the option whose visible text matches ``pattern`` (ipywidgets writes spaces as &nbsp;)."""
    options = select.locator("option").evaluate_all("options => options.map(o => o.textContent)")
    texts = [" ".join(text.replace("\xa0", " ").split()) for text in options]
    matches = [i for i, text in enumerate(texts) if re.fullmatch(pattern, text)]
    assert len(matches) == 1, f"one option matching {pattern!r} expected among {texts}"
    select.select_option(index=matches[0])
    return texts[matches[0]]


def filter_text(client: bsp.Client) -> str:
    """Some text that some, preferably not all, session names contain (any case)."""
    names = client.read("session")["name"].dropna().astype(str)
    assert len(names), "the sandbox has no sessions"
    counts = {
        p: int(names.str.lower().str.contains(p, regex=False).sum())
        for p in {n[:2].lower() for n in names if n[:2].strip()}
    }
    # The rarest prefix: a filter that visibly filters; sorted first, so the choice is the same each run.
    return min(sorted(counts), key=lambda p: (counts[p] == len(names), counts[p]))


@pytest.mark.timeout(900)
def test_explorer_in_a_browser_signs_in_filters_and_loads(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    require_tools()
    sandbox = request.getfixturevalue("sandbox")  # only once the tools are known to be there

    client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    text = filter_text(client)
    want = client.read("session", filters={"name.icontains": text})
    expected = len(want)
    assert expected > 0
    earliest = want["date_time"].dropna().min().isoformat()  # the grid shows times as ISO text

    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    aborted: list[str] = []

    def only_local(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    shots = tmp_path / "screenshots"
    shots.mkdir()
    csv_folder = tmp_path / "exported-csv"
    with voila(NOTEBOOK, {"BRAINSTEM_URL": sandbox.url}, tmp_path) as url, sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        except PlaywrightError as exc:
            unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1500})
            context.route("**/*", only_local)
            context.route_web_socket(lambda u: not is_local(u), lambda ws: ws.close())
            page = context.new_page()
            page.set_default_timeout(ACTION_TIMEOUT)
            try:
                page.goto(url + "/", timeout=RENDER_TIMEOUT)

                # Sign in with the sandbox's token; the server field came from BRAINSTEM_URL.
                token = wait_for(
                    page, page.get_by_label("Token", exact=True), "The sign-in form", timeout=RENDER_TIMEOUT
                )
                assert page.get_by_label("Server", exact=True).input_value() == sandbox.url
                token.fill(sandbox.token)
                button(page, "Sign in").click()
                # The explorer then switches to its Query tab, hiding the status: attached is enough.
                wait_for(page, page.get_by_text("Signed in to"), "The signed-in status", state="attached")

                # The query: session, name contains the text, then Load.
                model = wait_for(page, page.get_by_label("Model", exact=True), "The model dropdown")
                choose(model, r".*·\s*session")
                button(page, "Add filter").click()
                value = wait_for(page, page.get_by_placeholder("value", exact=True), "A filter row")
                row = page.locator(".widget-hbox").filter(has=page.get_by_placeholder("value", exact=True))
                field, operator = row.locator("select").nth(0), row.locator("select").nth(1)
                choose(field, r"name \(string\)")
                choose(operator, r"contains \(any case\)")
                value.fill(text)
                # The generated code shows the filter once the kernel has every change: only then Load.
                wait_for(page, page.get_by_text(f'"name.icontains": "{text}"'), "The filter in the generated code")
                page.screenshot(path=str(shots / "explorer-before-load.png"), full_page=True)
                button(page, "Load").click()

                status = wait_for(
                    page, page.get_by_text(re.compile(r"Loaded [\d,]+ session records")), "The loaded status"
                )
                loaded = int(re.search(r"Loaded ([\d,]+) session", status.inner_text()).group(1).replace(",", ""))
                # The summary table: kind, table, rows.
                summary = page.locator("tr").filter(has=page.locator("code", has_text=re.compile(r"^session$")))
                rows = int(summary.first.locator("td").nth(2).inner_text().replace(",", ""))
                entries, first_time = check_grid(page)
                page.screenshot(path=str(shots / "explorer-after-load.png"), full_page=True)
                downloaded = download_csv(page, csv_folder)
            except BaseException:
                failed = tmp_path / "explorer-failed.png"
                try:
                    page.screenshot(path=str(failed), full_page=True)
                    print(f"\nscreenshot of the failed page: {failed}")
                except Exception:
                    pass
                raise
        finally:
            browser.close()

    keep_screenshots(shots)
    if aborted:
        print(f"aborted {len(aborted)} request(s) to other hosts: {sorted(set(aborted))}")
    assert (loaded, rows) == (expected, expected), f"filter name.icontains={text!r}"
    assert entries == expected and first_time == earliest  # every record in the grid; sorted by the click
    assert downloaded == (csv_folder / "session.csv").read_bytes()  # the download is the file written
    frame = pd.read_csv(io.BytesIO(downloaded))
    assert sorted(frame["id"]) == sorted(want.index)


def check_grid(page: Any) -> tuple[int, str]:
    """The session grid: its count of entries, and the first date_time cell once sorted by a header click."""
    table = wait_for(page, page.locator("table.dataTable:visible"), "The result grid")
    info = page.locator(".dt-info:visible")
    if info.count():  # "Showing 1 to 10 of 57 entries"
        entries = int(re.search(r"of ([\d,]+) entr", info.first.inner_text()).group(1).replace(",", ""))
    else:  # itables leaves out the paging and the count when every row fits on one page
        entries = table.locator("tbody tr").count()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = headers.index("date_time")
    # The sort arrows of the header (itables sorts on them, not on the whole header cell).
    table.locator("thead th").nth(column).locator(".dt-column-order").click()  # ascending on the first click
    sorted_header = table.locator("thead th").nth(column)
    page.wait_for_function(
        "th => th.getAttribute('aria-sort') === 'ascending' || th.classList.contains('dt-ordering-asc')",
        arg=sorted_header.element_handle(),
        timeout=ACTION_TIMEOUT,
    )
    first = table.locator("tbody tr").first.locator("td").nth(column).inner_text().strip()
    return entries, first


def download_csv(page: Any, folder: Path) -> bytes:
    """On the Export tab: write the CSV files to ``folder``, then download session.csv through its link."""
    page.locator(".lm-TabBar-tab:visible").filter(has_text=re.compile(r"^\s*Export\s*$")).click()
    field = wait_for(page, page.get_by_label("Folder", exact=True).nth(1), "The CSV folder field")
    field.fill(str(folder))
    button(page, "Write CSV files").click()
    link = wait_for(page, page.locator("a.bsp-download").filter(has_text=re.compile(r"^session\.csv ")), "A link")
    with page.expect_download(timeout=ACTION_TIMEOUT) as event:
        link.click()
    download = event.value
    assert download.suggested_filename == "session.csv"
    return Path(download.path()).read_bytes()


def keep_screenshots(shots: Path) -> None:
    """Print where the screenshots are; copy them to BSP_SCREENSHOTS when it names a folder."""
    target = os.environ.get("BSP_SCREENSHOTS", "").strip()
    for shot in sorted(shots.glob("*.png")):
        print(f"\nscreenshot: {shot}")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy2(shot, Path(target) / shot.name)
