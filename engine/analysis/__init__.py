"""The one analysis core (issue 15): the player, `analyze`, `eval` and `bench` all run it.

- ``engine.video`` decodes (``FrameStream`` in order, ``VideoReader`` at random, exact
  indices): the only module that opens a video.
- ``loop``: ``LiveAnalysis``, the one detect-and-track loop, a segment of ``segment`` frames at
  a time, in any order. Consecutive segments analysed in a row share one tracker (a *run*).
- ``seams``: where a run starts next to frames an earlier run analysed (after a seek),
  trajectories that continue across the seam are stitched (a pure function).
- ``state``: the analysis as plain values, for the cache.
- ``straight``: ``analyze``, the segments in order, as `analyze`, the evaluations and the
  benches run it.
- ``session``: ``LiveSession``, the open video in the player: analysis, matching (the whole
  trajectory against the catalogue, engine/matching.py) and the order of the work.
- ``given``: ``GivenTracks``, a loaded file's tracks in a session instead of an analysis, so
  they are matched the same way (the player without its live engine).
- ``cache``: ``AnalysisCache``, SQLite per video fingerprint, so a reopened video shows its
  boxes at once.
"""

from engine.analysis.loop import SEGMENT, LiveAnalysis, Progress, StageTimes
from engine.analysis.session import LiveSession, run_to_end, track_key
from engine.analysis.straight import analyze, run_analysis

__all__ = ["SEGMENT", "LiveAnalysis", "LiveSession", "Progress", "StageTimes", "analyze",
           "run_analysis", "run_to_end", "track_key"]
