"""The window: it only draws. Workers live in ``fer_desktop.pipeline``; ``bridge`` turns their callbacks into signals."""
