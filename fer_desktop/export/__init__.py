"""What leaves the app as files: the CSV recording, snapshots and the headless summary. No Qt here."""

from fer_desktop.export.csv_recorder import CSV_COLUMNS, CsvRecorder
from fer_desktop.export.files import replace_atomically, timestamped_path, write_json
from fer_desktop.export.snapshot import save_png

__all__ = ["CSV_COLUMNS", "CsvRecorder", "replace_atomically", "save_png", "timestamped_path", "write_json"]
