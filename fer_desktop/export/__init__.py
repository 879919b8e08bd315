"""What leaves the app as files: the recording (CSV rows and summary), snapshots. No Qt here."""

from fer_desktop.export.csv_rows import COLUMNS, CSV_COLUMNS, Column
from fer_desktop.export.files import replace_atomically, timestamped_path, write_json, write_text_atomically
from fer_desktop.export.outputs import OVERWRITE_FLAG, OutputError, check_outputs, same_file
from fer_desktop.export.recorder import Recorder
from fer_desktop.export.snapshot import save_png
from fer_desktop.export.summary import RunSummary

__all__ = [
    "COLUMNS", "CSV_COLUMNS", "Column", "OVERWRITE_FLAG", "OutputError", "Recorder", "RunSummary", "check_outputs",
    "replace_atomically", "same_file", "save_png", "timestamped_path", "write_json", "write_text_atomically",
]
