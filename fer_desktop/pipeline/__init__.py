"""The live pipeline without Qt: source -> frame -> faces -> crops -> batch -> probabilities -> smoothing.

``Pipeline`` joins a capture worker, a faces worker and an emotions worker by
one-frame slots; the window and the headless mode both drive it through callbacks.
"""

from fer_desktop.pipeline.frames import FaceResult, Frame, FrameResult, SourceEnd, SourceInfo, StageTimings
from fer_desktop.pipeline.runner import Pipeline, PipelineCallbacks
from fer_desktop.pipeline.sources import FrameSource, SourceError, open_source, probe_cameras

__all__ = [
    "FaceResult", "Frame", "FrameResult", "FrameSource", "Pipeline", "PipelineCallbacks", "SourceEnd",
    "SourceError", "SourceInfo", "StageTimings", "open_source", "probe_cameras",
]
