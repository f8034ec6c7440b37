"""One open video in the player: analysis, matching, and the order of the work
(``LiveSession``): what the viewer is looking at first, then what is ahead of the playhead,
then the rest. Its state is plain values, so the analysis cache (engine/analysis/cache.py)
stores it and a reopened video shows its boxes at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine.analysis.loop import LiveAnalysis
from engine.annotations import Annotations
from engine.types import AnnotationIndex, Evidence, Snapshot, Track, TrackResult

if TYPE_CHECKING:
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.given import GivenTracks
    from engine.catalog.retrieval import Catalog
    from engine.matching import TrackCrops


def track_key(track: Track) -> str:
    """Names a trajectory's extent: its matches are redone when stitching changes it."""
    return f"{track.first_frame}-{track.last_frame}-{len(track.boxes)}"


def match_track(catalog: Catalog, track: Track, crops: TrackCrops | None, *, k: int = 10,
                height: float = 0.0, evidence_frames: int = 12) -> TrackResult:
    """One trajectory's products from its crops, with the frames that decided (the player's
    session and `library analyze`'s matching tasks)."""
    from engine.matching import Matcher

    if crops is None:
        return TrackResult(track_key(track), [])
    matches, weights = Matcher(catalog).match(track, crops, k=k, height=height)
    frames = track.boxes[crops.rows, 0].astype(int)
    keep = np.sort(np.argsort(-weights, kind="stable")[:evidence_frames])
    evidence = [Evidence(int(frames[i]), float(weights[i]),
                         cv2.resize(crops.views[i], (64, 80), interpolation=cv2.INTER_AREA))
                for i in keep if weights[i] > 0]
    return TrackResult(track_key(track), matches, evidence)


class LiveSession:
    """One open video: analysis, matching against the catalogue, and the order of the work.
    ``analysis`` is the engine's own (``LiveAnalysis``) or a file's tracks (``GivenTracks``):
    both are matched here, the same way.

    ``step(playhead, paused)`` does one unit of work (a segment, or matching one trajectory) and
    says what it did, or returns None when nothing is left. Matching a trajectory the viewer
    clicked comes first (``request_match``)."""

    def __init__(self, analysis: LiveAnalysis | GivenTracks, *, catalog: Catalog | None = None,
                 cache: AnalysisCache | None = None, k: int = 10, frames_per_track: int = 40,
                 lookahead_s: float = 8.0, evidence_frames: int = 12,
                 evidence_tracks: int = 200, crop_batch: int = 6) -> None:
        self.analysis = analysis
        self.k, self.frames_per_track = k, frames_per_track
        self.evidence_frames = evidence_frames
        # Deciding frames are kept in memory for the tracks matched (or asked for) last, about
        # 180 kB a track; the others are read back from the cache, or matched again, when the
        # viewer asks (an hour of drama has ~2,000 tracks: 350 MB otherwise).
        self.evidence_tracks = evidence_tracks
        self._evidence_held: OrderedDict[int, None] = OrderedDict()
        self._evidence_dropped: set[int] = set()
        # Background matching decodes the crops of up to ``crop_batch`` closed, unmatched
        # tracks that lie within one track's frames in one pass, and holds the others' (about
        # 2.4 MB a track) for their own steps: fewer passes over the same frames, the same
        # crops. A clicked track's crops are decoded alone (its card waits on them).
        self.crop_batch = crop_batch
        self._crops_held: OrderedDict[tuple[int, str], TrackCrops | None] = OrderedDict()
        self.lookahead = int(lookahead_s * analysis.info.fps)
        self.results: dict[int, TrackResult] = {}
        # what the last step changed: the boxes (an analysed segment), or the results of a few
        # tracks (``take_changed``): the player then updates those tracks, not everything
        self.boxes_changed = False
        self._changed: dict[int, None] = {}
        self.urgent: list[int] = []
        self.errors: list[str] = []
        self._tracks: list[tuple[Track, bool]] = []
        self._tracks_version = -1
        # called between batches of a segment while analysis.publish_batches is set (the
        # engine thread sets it until the first boxes are on screen)
        self.on_batch: Callable[[], None] | None = None
        self.cache = cache if cache is not None and cache.usable else None
        self.key = ""
        self.restored = False
        if self.cache is not None:
            from engine.analysis.cache import analysis_key
            from engine.video import fingerprint

            d = analysis.detector
            self.key = analysis_key(fingerprint(analysis.path), getattr(d, "name", "?"),
                                    # the weights' hash too: a retrained model can keep its name
                                    f'{getattr(d, "version", "?")}:{getattr(d, "weights_id", "")}',
                                    analysis.stride,
                                    analysis.segment, analysis.settings())
            state = self.cache.load_state(self.key)
            self.restored = state is not None and analysis.restore(state)
        self.catalog: Catalog | None = None
        self.set_catalog(catalog)

    @staticmethod
    def catalog_key(catalog: Catalog) -> str:
        # the directory resolved: the player and `library analyze` may name it differently
        return (f"{Path(catalog.store.dir).resolve()}:{catalog.store.fingerprint()}:"
                f"{catalog.matcher.ranking_version}")

    def set_catalog(self, catalog: Catalog | None) -> None:
        """Another catalogue: its cached matches, if any, replace the old ones. Without one,
        the products a track came with (a loaded file's, engine/analysis/given.py) show."""
        self.catalog = catalog
        self.results = {} if catalog is not None else {
            t.track_id: TrackResult(track_key(t), list(t.matches))
            for t, _ in self.tracks() if t.matches}
        self._catalog_key = self.catalog_key(catalog) if catalog is not None else ""
        self._evidence_held.clear()
        self._evidence_dropped.clear()
        self._changed.clear()
        if catalog is not None and self.cache is not None:
            self.results = self.cache.load_matches(self.key, self._catalog_key, evidence=False)
            self._evidence_dropped.update(self.results)  # read when a track is asked for

    def request_match(self, track_id: int) -> None:
        if track_id in self.urgent:
            self.urgent.remove(track_id)
        self.urgent.insert(0, track_id)
        del self.urgent[8:]  # the viewer's latest clicks; older ones are matched in turn

    def tracks(self) -> list[tuple[Track, bool]]:
        if self._tracks_version != self.analysis.version:
            self._tracks = self.analysis.tracks()
            self._tracks_version = self.analysis.version
        return self._tracks

    def _needs_match(self, track: Track) -> bool:
        """No products yet, or found for a shorter extent (the trajectory grew since)."""
        r = self.results.get(track.track_id)
        return r is None or r.key != track_key(track)

    def _unmatched(self, closed_only: bool) -> list[Track]:
        return [t for t, closed in self.tracks()
                if (closed or not closed_only) and self._needs_match(t)]

    def take_changed(self) -> dict[int, TrackResult]:
        """The results changed since the last call (matched, their deciding frames let go or
        brought back), by track id; then forgets them."""
        out = {tid: self.results[tid] for tid in self._changed if tid in self.results}
        self._changed.clear()
        return out

    def step(self, playhead: int, paused: bool) -> str | None:
        a = self.analysis
        self.boxes_changed = False
        if self.catalog is not None and self.urgent:
            # a request for a trajectory not found yet (its segment is still to come) waits
            tracks = {t.track_id: t for t, _ in self.tracks()}
            for tid in list(self.urgent):
                track = tracks.get(tid)
                if track is None:
                    continue
                self.urgent.remove(tid)
                if self._needs_match(track):
                    self.match(track)
                    return f"matched track {tid}"
                if tid in self._evidence_dropped:
                    return self._bring_back_evidence(track)
        lead = 0 if paused else int(0.5 * a.info.fps)
        k = a.next_segment(playhead, lead)
        near = k is not None and a.segment_range(k)[0] <= playhead + self.lookahead
        if k is not None and (near or self.catalog is None):
            return self._analyse(k)
        if self.catalog is not None:
            todo = self._unmatched(closed_only=True)
            if not todo and k is None:
                todo = self._unmatched(closed_only=False)
            if todo:  # what is on screen or comes next first
                track = min(todo, key=lambda t: (t.last_frame < playhead,
                                                 abs(t.first_frame - playhead)))
                self.match(track, batch=[t for t in todo if t is not track])
                return f"matched track {track.track_id}"
        if k is not None:
            return self._analyse(k)
        return None

    def _analyse(self, k: int) -> str:
        self.boxes_changed = True
        try:
            self.analysis.analyse_segment(k, self.on_batch)
        except Exception as exc:
            self.analysis.fail_segment(k)
            a, b = self.analysis.segment_range(k)
            self.errors.append(f"frames {a}-{b - 1} could not be analysed: {exc}")
            raise
        if self.cache is not None:
            self.cache.save_state(self.key, self.analysis.path, self.analysis.state())
        return f"analysed segment {k}"

    def _crops(self, track: Track, batch: list[Track]) -> TrackCrops | None:
        """``track``'s crops: held from an earlier pass, or decoded now, together with those
        of the tracks of ``batch`` that lie within its frames (held for their own step)."""
        from engine.matching import track_crops

        key = (track.track_id, track_key(track))
        if key in self._crops_held:
            return self._crops_held.pop(key)
        half = (track.last_frame - track.first_frame) // 2
        inside = [t for t in batch if t.first_frame >= track.first_frame - half
                  and t.last_frame <= track.last_frame + half
                  and (t.track_id, track_key(t)) not in self._crops_held]
        inside = inside[:max(self.crop_batch - 1, 0)]
        crops = track_crops(self.analysis.path, [track, *inside], self.frames_per_track)
        if not all(c is not None and c.complete for c in crops):
            # a frame that would not decode stopped the pass: what each track would have got
            # alone may differ, so nothing is held and this track is decoded alone
            return crops[0] if not inside else track_crops(
                self.analysis.path, [track], self.frames_per_track)[0]
        for t, c in zip(inside, crops[1:], strict=True):
            self._crops_held[(t.track_id, track_key(t))] = c
        while len(self._crops_held) > max(self.crop_batch - 1, 0):
            self._crops_held.popitem(last=False)
        return crops[0]

    def match(self, track: Track, batch: list[Track] | None = None) -> TrackResult:
        """Matches ``track`` now; ``batch``: other tracks waiting, whose crops may be decoded
        in the same pass."""
        result = match_track(self.catalog, track, self._crops(track, batch or []), k=self.k,
                             height=float(self.analysis.info.height),
                             evidence_frames=self.evidence_frames)
        self.results[track.track_id] = result
        self._changed[track.track_id] = None
        self._hold_evidence(track.track_id)
        if self.cache is not None:
            self.cache.save_match(self.key, self._catalog_key, track.track_id, result)
        return result

    def _hold_evidence(self, track_id: int) -> None:
        """``track_id``'s deciding frames stay in memory; the longest-held beyond
        ``evidence_tracks`` are let go (their matches stay)."""
        self._evidence_dropped.discard(track_id)
        self._evidence_held[track_id] = None
        self._evidence_held.move_to_end(track_id)
        while len(self._evidence_held) > max(self.evidence_tracks, 1):
            old, _ = self._evidence_held.popitem(last=False)
            r = self.results.get(old)
            if r is not None and r.evidence:
                self.results[old] = TrackResult(r.key, r.matches, [])
                self._evidence_dropped.add(old)
                self._changed[old] = None

    def _bring_back_evidence(self, track: Track) -> str:
        """A track whose deciding frames were let go: from the cache, else matched again."""
        r = self.results[track.track_id]
        evidence = (self.cache.load_evidence(self.key, self._catalog_key, track.track_id, r.key)
                    if self.cache is not None else None)
        if evidence is None:
            self.match(track)
            return f"matched track {track.track_id}"
        self.results[track.track_id] = TrackResult(r.key, r.matches, evidence)
        self._changed[track.track_id] = None
        self._hold_evidence(track.track_id)
        return f"evidence of track {track.track_id}"

    def snapshot(self) -> Snapshot:
        a = self.analysis
        tracks = []
        evidence = {}
        for t, _ in self.tracks():
            r = self.results.get(t.track_id)
            matches = list(r.matches) if r is not None else []
            tracks.append(Track(t.track_id, t.boxes, t.category, t.product_id, matches))
            if r is not None and r.evidence:
                evidence[t.track_id] = r.evidence
        return Snapshot(AnnotationIndex(tracks), tracks, a.analysed_ranges(), a.frame_count,
                        evidence, a.complete, sum(1 for t in tracks if t.matches))

    def annotations(self) -> Annotations:
        """The analysis in the annotations format (for export)."""
        a = self.analysis
        bounds = sorted({0, *a.cuts})
        shots = [[x, y] for x, y in zip(bounds, [*bounds[1:], a.frame_count], strict=True)]
        video = {"fps": a.info.fps, "frame_count": a.frame_count, "width": a.info.width,
                 "height": a.info.height, "shots": shots,
                 "detector": getattr(a.detector, "name", "?"),
                 "detector_version": getattr(a.detector, "version", "?"), "stride": a.stride,
                 "analysed": [list(r) for r in a.analysed_ranges()]}
        if self.catalog is not None:
            video["catalog_model"] = self.catalog.matcher.version
        return Annotations(video=video, tracks=self.snapshot().tracks)


def run_to_end(session: LiveSession, playhead: int = 0,
               on_step: Callable[[str], None] | None = None) -> None:
    """Works until nothing is left (tests, benchmarks and the CLI use it)."""
    while (what := session.step(playhead, paused=True)) is not None:
        if on_step:
            on_step(what)
