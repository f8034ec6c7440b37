import numpy as np
import pytest

from bench.synth.marker_clip import render_frame
from engine.framesync import FrameLocator, ThumbnailIndexer, ThumbnailStore, thumbnail
from engine.video import VideoReader


@pytest.fixture(scope="module")
def indexed(marker_clip):
    store = ThumbnailStore()
    indexer = ThumbnailIndexer(str(marker_clip[0]), store, 100)
    indexer.start()
    assert indexer.wait_until_indexed(99, timeout=30)
    indexer.stop()
    return store


def test_the_indexer_covers_the_clip_around_the_playhead(indexed):
    assert len(indexed) == 100


def test_locating_a_decoded_frame_is_exact_even_with_a_wrong_clock(indexed, marker_clip):
    locator = FrameLocator(indexed, window=15)
    with VideoReader(marker_clip[0]) as r:
        for true_index, estimate in [(0, 5.0), (40, 31.2), (41, 50.9), (99, 90.0), (70, 70.4)]:
            bgra = np.dstack([r.read(true_index), np.full((180, 320), 255, np.uint8)])
            found = locator.locate(thumbnail(bgra), estimate)
            assert found.matched
            assert found.index == true_index
            assert found.cost < locator.max_cost


def test_a_picture_from_elsewhere_costs_more_than_the_limit(indexed):
    locator = FrameLocator(indexed, window=5)
    far = render_frame(90, 100, 320, 180)  # frame 90, but the clock says 20
    found = locator.locate(thumbnail(far), 20.0)
    assert found.cost > locator.max_cost


def test_identical_frames_go_to_the_candidate_nearest_the_estimate():
    store = ThumbnailStore()
    still = thumbnail(np.full((36, 64, 3), 80, np.uint8))
    for i in range(10, 20):
        store.put(i, still)
    assert FrameLocator(store).locate(still, 14.2).index == 14


def test_no_thumbnails_means_the_estimate_alone():
    found = FrameLocator(ThumbnailStore()).locate(np.zeros((36, 64), np.int16), 12.6)
    assert (found.index, found.matched) == (13, False)


def test_the_store_forgets_frames_far_from_the_playhead():
    store = ThumbnailStore(keep_behind=5, keep_ahead=10)
    for i in range(100):
        store.put(i, np.zeros((36, 64), np.int16))
    store.evict_outside(50)
    assert sorted(i for i in range(100) if i in store) == list(range(45, 61))


def test_locator_rejects_bad_settings():
    with pytest.raises(ValueError, match="window"):
        FrameLocator(ThumbnailStore(), window=0)
