"""Exporting runs from the GUI: one run, a selection or the filtered history, with progress
and cancel; the files are exactly those of ``labbench export`` (same writers): the CSV report,
telemetry, JUnit XML and the JSON record of each run, into a folder or one zip file; after one
run's export, "Open report" shows it."""

from __future__ import annotations

import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from labbench.export.csv_report import ExportCancelled, ExportError, export_run, write_run_list
from labbench.export.html_report import write_html_report
from labbench.export.json_record import write_json_record
from labbench.export.junit import write_junit
from labbench.export.shmoo_csv import write_shmoo
from labbench.storage import Database, RecordError
from labbench.storage import runs as run_store
from labbench.storage.sweeps import run_sweeps


def export_file_names(folder: Path, run_id: int) -> tuple[Path, Path]:
    return folder / f"run-{run_id}-report.csv", folder / f"run-{run_id}-telemetry.csv"


# The formats beside the CSV: (option, file name suffix, writer of one run).
MACHINE_FORMATS = (
    ("junit", "junit.xml", write_junit),
    ("record", "record.json", write_json_record),
)
HTML_SUFFIX = "report.html"
SHMOO_SUFFIX = "shmoo.csv"


class GuiPlotRenderer(QObject):
    """Draws an HTML report's plots, and its sweeps' shmoo grids (``shmoo``), on the GUI
    thread (they are widgets) for an export running in a worker thread, which waits for
    them."""

    asked = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.cancel: threading.Event | None = None  # the export's, while one runs
        self.asked.connect(self._render)  # emitted from the worker: queued to this thread

    def _render(self, job) -> None:
        draw, args, answer, done = job
        try:
            answer.append(draw(*args))
        except Exception as exc:  # handed back to the worker, which reports it
            answer.append(exc)
        finally:
            done.set()

    def _on_gui_thread(self, draw, *args):
        answer: list = []
        done = threading.Event()
        self.asked.emit((draw, args, answer, done))
        while not done.wait(0.2):
            if self.cancel is not None and self.cancel.is_set():
                raise ExportCancelled("Export cancelled.")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    def __call__(self, specs):
        from labbench.ui.report_plots import render_plots

        return self._on_gui_thread(render_plots, specs)

    def shmoo(self, shmoo, width: int, height: int) -> bytes:
        """A sweep's grid as PNG bytes (``render_shmoo`` of ``write_html_report``)."""
        from labbench.ui.shmoo_view import render_shmoo_png

        return self._on_gui_thread(render_shmoo_png, shmoo, width, height)


def zip_name(run_ids: list[int]) -> str:
    first, last = min(run_ids), max(run_ids)
    return f"labbench-runs-{first}.zip" if first == last else f"labbench-runs-{first}-{last}.zip"


class ExportWorker(QObject):
    progressed = Signal(int, int)  # samples done, samples in all
    finished = Signal(object)  # list of written paths, or an Exception

    def __init__(
        self,
        db: Database,
        run_ids: list[int],
        folder: Path,
        layout: str,
        telemetry: bool,
        run_list: bool,
        *,
        formats: tuple[str, ...] = (),
        zipped: bool = False,
        renderer: GuiPlotRenderer | None = None,
    ):
        super().__init__()
        self.db, self.run_ids, self.folder, self.layout = db, run_ids, folder, layout
        self.telemetry, self.run_list = telemetry, run_list
        self.formats, self.zipped = formats, zipped
        self.renderer = renderer if "html" in formats else None
        if "html" in formats and renderer is None:
            raise ValueError("an HTML export needs a GuiPlotRenderer made on the GUI thread")
        self.cancel = threading.Event()
        if self.renderer is not None:
            self.renderer.cancel = self.cancel
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._work, name="labbench-export", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        if not self.zipped:
            self._work_into(self.folder)
            return
        # Written beside the zip and packed at the end: a cancelled or failed export leaves
        # neither loose files nor a partial zip behind.
        scratch = Path(tempfile.mkdtemp(prefix=".labbench-export-", dir=self.folder))
        target = self.folder / zip_name(self.run_ids)
        try:
            result = self._work_into(scratch, emit=False)
            if isinstance(result, list):
                with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in result:
                        archive.write(path, path.name)
                result = [target]
        except OSError as exc:  # a full disk, say: no partial zip is left
            target.unlink(missing_ok=True)
            result = exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.finished.emit(result)

    def _work_into(self, folder: Path, *, emit: bool = True):
        written: list[Path] = []
        try:
            total = (
                sum(run_store.get_run(self.db, run_id).sample_count for run_id in self.run_ids)
                if self.telemetry
                else 0
            )
            done = 0
            for run_id in self.run_ids:
                report, telemetry = export_file_names(folder, run_id)
                base = done
                samples = export_run(
                    self.db,
                    run_id,
                    report=report,
                    telemetry=telemetry if self.telemetry else None,
                    layout=self.layout,
                    progress=lambda n, base=base: self._progress(base + n, total),
                )
                done += samples
                written.append(report)
                if self.telemetry:
                    written.append(telemetry)
                for option, suffix, write in MACHINE_FORMATS:
                    if option in self.formats:
                        path = folder / f"run-{run_id}.{suffix}"
                        write(self.db, run_id, path)
                        written.append(path)
                if "html" in self.formats:
                    path = folder / f"run-{run_id}.{HTML_SUFFIX}"
                    write_html_report(self.db, run_id, path, self.renderer, self.renderer.shmoo)
                    written.append(path)
                if "shmoo" in self.formats and run_sweeps(self.db, run_id):
                    path = folder / f"run-{run_id}.{SHMOO_SUFFIX}"  # runs without a sweep: none
                    write_shmoo(self.db, run_id, path)
                    written.append(path)
                if self.cancel.is_set():
                    raise ExportCancelled("Export cancelled.")
            if self.run_list:
                path = folder / "runs.csv"
                wanted = set(self.run_ids)
                write_run_list(self.db, path)  # every run, then keep the exported ones
                _keep_rows(path, wanted)
                written.append(path)
            self.progressed.emit(total, total)
        except (ExportError, RecordError, OSError) as exc:
            if emit:
                self.finished.emit(exc)
                return None
            return exc
        if emit:
            self.finished.emit(written)
        return written

    def _progress(self, done: int, total: int) -> bool:
        self.progressed.emit(done, total)
        return not self.cancel.is_set()


def _keep_rows(path: Path, run_ids: set[int]) -> None:
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(rows[0])
        writer.writerows(r for r in rows[1:] if int(r[0]) in run_ids)


class ExportDialog(QDialog):
    def __init__(
        self, db: Database, run_ids: list[int], parent=None, *, folder: Path | None = None
    ):
        super().__init__(parent)
        self.db, self.run_ids = db, run_ids
        self.setWindowTitle("Export runs")
        self.setMinimumWidth(520)
        self.worker: ExportWorker | None = None
        self.result: object | None = None
        self.folder = QLineEdit(str(folder or Path.home()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.layout_combo = QComboBox()
        self.layout_combo.addItems(["wide", "long"])
        self.telemetry = QCheckBox(
            "Telemetry (t_s and one column per channel, or t_s,channel,value,unit)"
        )
        self.telemetry.setChecked(True)
        self.run_list = QCheckBox("A runs.csv listing the exported runs")
        self.run_list.setChecked(len(run_ids) > 1)
        self.junit = QCheckBox("JUnit XML for CI dashboards (a test case per judged item)")
        self.html = QCheckBox("HTML report (one page with plots, for a ticket or a review)")
        self.renderer = GuiPlotRenderer(self)
        self.record = QCheckBox("JSON record (items, violations, events: for scripts and MES)")
        self.shmoo = QCheckBox("Shmoo grid CSV of each sweep, Vmin and holes (runs with sweeps)")
        self.zipped = QCheckBox("Pack everything into one zip file")
        self.open_report = QPushButton("Open report")
        self.open_report.clicked.connect(self._on_open_report)
        self.written: list[Path] = []
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel(
            f"{len(run_ids)} run(s): {', '.join(map(str, run_ids[:12]))}"
            f"{' …' if len(run_ids) > 12 else ''}"
        )
        form = QFormLayout()
        form.addRow("Folder", folder_row)
        form.addRow("Always", QLabel("the run report (CSV: preamble and one row per judged item)"))
        form.addRow("Telemetry layout", self.layout_combo)
        form.addRow(self.telemetry)
        form.addRow(self.html)
        form.addRow(self.junit)
        form.addRow(self.record)
        form.addRow(self.shmoo)
        form.addRow(self.run_list)
        form.addRow(self.zipped)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.addButton(self.open_report, QDialogButtonBox.ButtonRole.ActionRole)
        self.open_report.setVisible(False)  # after addButton, which shows it
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self._on_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)

    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def start(self) -> None:
        folder = Path(self.folder.text()).expanduser()
        if not folder.is_dir():
            self.status.setText(f"The folder {folder} does not exist.")
            return
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.worker = ExportWorker(
            self.db,
            self.run_ids,
            folder,
            self.layout_combo.currentText(),
            self.telemetry.isChecked(),
            self.run_list.isChecked(),
            formats=tuple(
                option
                for option, box in (
                    ("html", self.html),
                    ("junit", self.junit),
                    ("record", self.record),
                    ("shmoo", self.shmoo),
                )
                if box.isChecked()
            ),
            zipped=self.zipped.isChecked(),
            renderer=self.renderer,
        )
        self.worker.progressed.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.status.setText("Exporting…")
        self.worker.start()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 1000)

    def _on_finished(self, result) -> None:
        self.result = result
        if isinstance(result, Exception):
            self.status.setText(str(result))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            return
        self.written = result
        self.status.setText(f"Wrote {len(result)} file(s) to {self.folder.text()}.")
        if len(self.run_ids) > 1 or self.zipped.isChecked():
            self.accept()
            return
        # One run: its report is what the operator wants to look at next.
        self.open_report.setVisible(True)
        self.open_report.setFocus()
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("Close")

    def report_path(self) -> Path | None:
        """The exported run's report for people: the HTML page if written, else the CSV."""
        pages = [p for p in self.written if p.name.endswith(HTML_SUFFIX)]
        return pages[0] if pages else (self.written[0] if self.written else None)

    def _on_open_report(self) -> None:
        path = self.report_path()
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _on_cancel(self) -> None:
        if (
            self.worker is not None
            and self.worker.thread is not None
            and self.worker.thread.is_alive()
        ):
            self.worker.cancel.set()  # the worker removes the partial file and reports back
            return
        self.reject()
