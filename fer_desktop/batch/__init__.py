"""``fer-desktop-batch``: many videos through headless mode's pipeline, on every core or a Ray cluster.

inputs (which videos, named how) -> fingerprint (changed? the same bytes?) ->
index (what is done) -> pool or cluster (where ``task.analyse_video`` runs) ->
runner (writes each video's CSV and summary, then the index) -> cli.
"""
