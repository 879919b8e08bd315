"""The session report: a recording's CSV summarised per face, with figures and one HTML page."""
