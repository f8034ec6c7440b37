"""Exports for QA teams: MOT text, CVAT XML, the project's JSON, and reviewers' flag books."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from engine.annotations import Annotations, load_annotations
from engine.export import (
    NOTE_MAX_CHARS,
    ExportError,
    Flag,
    FlagBook,
    export_analysis,
    format_for_path,
    to_cvat_video_xml,
    to_mot,
)
from engine.types import Track
from tests.conftest import run_with_file_size_limit

TRICKY = 'top <&"> tee'


@pytest.fixture
def ann() -> Annotations:
    """Three tracks in a 10-frame video: 7 runs to the end, 3 has a gap (2..3, 6), 5 is short
    with an empty category, and an empty track 9 that no format should mention."""
    return Annotations(
        video={"fps": 25.0, "frame_count": 10, "width": 640, "height": 360},
        tracks=[
            Track(7, [[f, 10, 20, 110.5, 220.25, 0.9] for f in range(10)], category="dress"),
            Track(
                3,
                [[6, 1, 2, 3, 4, 0.5], [2, 5.123, 6, 50, 60, 0.87654], [3, 6, 6, 51, 61, 0.8]],
                category=TRICKY,
            ),
            Track(5, [[0, 300, 100, 360, 300, 0.7]], category=""),
            Track(9, np.zeros((0, 6)), category="dress"),
        ],
    )


def parse_mot(text: str) -> dict[tuple[int, int], list[float]]:
    out = {}
    for line in text.splitlines():
        f, tid, left, top, w, h, conf, *rest = line.split(",")
        assert rest == ["-1", "-1", "-1"]
        out[int(f), int(tid)] = [float(v) for v in (left, top, w, h, conf)]
    return out


def test_mot_lines_parse_back_to_the_same_boxes_with_1_based_frames(ann):
    text = to_mot(ann)
    rows = parse_mot(text)
    expected = {}
    for t in ann.tracks:
        for f, x1, y1, x2, y2, s in t.boxes:
            expected[int(f) + 1, t.track_id] = [x1, y1, x2 - x1, y2 - y1, s]
    assert rows.keys() == expected.keys()
    for key, values in expected.items():
        np.testing.assert_allclose(rows[key][:4], values[:4], atol=0.005)
        np.testing.assert_allclose(rows[key][4], values[4], atol=0.00005)
    keys = [tuple(int(v) for v in line.split(",")[:2]) for line in text.splitlines()]
    assert keys == sorted(keys)
    assert text.endswith("\n")


def test_mot_numbers_are_short(ann):
    lines = to_mot(ann).splitlines()
    assert "3,3,5.12,6,44.88,54,0.8765,-1,-1,-1" in lines
    assert "1,7,10,20,100.5,200.25,0.9,-1,-1,-1" in lines
    assert to_mot(Annotations(video={}, tracks=[])) == ""


def test_cvat_xml_has_meta_labels_and_escaped_text(ann):
    root = ET.fromstring(to_cvat_video_xml(ann, name="clip <1> & 'two'"))
    assert root.tag == "annotations" and root.findtext("version") == "1.1"
    task = root.find("meta/task")
    assert task.findtext("name") == "clip <1> & 'two'"
    assert task.findtext("size") == "10"
    assert task.findtext("mode") == "interpolation"
    assert (task.findtext("start_frame"), task.findtext("stop_frame")) == ("0", "9")
    labels = [node.findtext("name") for node in task.findall("labels/label")]
    assert sorted(labels) == sorted(["dress", TRICKY, "garment"])
    assert all(node.find("attributes") is not None for node in task.findall("labels/label"))
    assert task.findtext("original_size/width") == "640"
    assert task.findtext("original_size/height") == "360"


def test_cvat_tracks_are_renumbered_by_our_track_id_with_outside_markers(ann):
    tracks = ET.fromstring(to_cvat_video_xml(ann)).findall("track")
    # ours 3, 5, 7 become 0, 1, 2; the empty track 9 is left out
    assert [(t.get("id"), t.get("label")) for t in tracks] == [
        ("0", TRICKY),
        ("1", "garment"),
        ("2", "dress"),
    ]
    assert all(t.get("source") == "auto" for t in tracks)

    def boxes(track):
        return [(int(b.get("frame")), b.get("outside")) for b in track.findall("box")]

    # gap after frame 3 -> outside at 4; ends at 6 of 0..9 -> outside at 7
    assert boxes(tracks[0]) == [(2, "0"), (3, "0"), (4, "1"), (6, "0"), (7, "1")]
    assert boxes(tracks[1]) == [(0, "0"), (1, "1")]
    assert boxes(tracks[2]) == [(f, "0") for f in range(10)]  # runs to the last frame
    first = tracks[0].find("box").attrib
    assert first == {
        "frame": "2", "xtl": "5.12", "ytl": "6.00", "xbr": "50.00", "ybr": "60.00",
        "outside": "0", "occluded": "0", "keyframe": "1", "z_order": "0",
    }  # fmt: skip
    outside = tracks[0].findall("box")[2].attrib
    assert (outside["xtl"], outside["ybr"]) == ("6.00", "61.00")  # the last box seen, repeated


def test_export_analysis_writes_each_format(ann, tmp_path):
    js = export_analysis(ann, tmp_path / "deep" / "er" / "a.json", "annotations")
    again = load_annotations(js)
    assert [t.track_id for t in again.tracks] == [t.track_id for t in ann.tracks]
    assert again.tracks[1].category == TRICKY

    mot = export_analysis(ann, tmp_path / "a.txt", "mot")
    assert mot.read_text(encoding="utf-8") == to_mot(ann)

    xml = export_analysis(ann, tmp_path / "a.xml", "cvat")
    root = ET.parse(xml).getroot()
    assert root.findtext("meta/task/name") == "a"
    assert len(root.findall("track")) == 3

    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_export_analysis_replaces_an_existing_file(ann, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    export_analysis(ann, path, "mot")
    assert path.read_text().startswith("1,5,")


def test_format_for_path_and_bad_format_names(ann, tmp_path):
    assert format_for_path("x/a.JSON") == "annotations"
    assert format_for_path("a.txt") == "mot"
    assert format_for_path(tmp_path / "a.xml") == "cvat"
    with pytest.raises(ValueError, match=r"\.json.*\.txt.*\.xml"):
        format_for_path("a.csv")
    with pytest.raises(ValueError, match="annotations, mot, cvat"):
        export_analysis(ann, tmp_path / "a.txt", "yolo")
    assert not (tmp_path / "a.txt").exists()


def test_a_folder_nobody_can_write_gives_export_error(ann):
    """Root-proof: chmod does not stop root (the CI user), but nobody creates files in /proc."""
    with pytest.raises(ExportError, match=r"proc.video2shop-test.a\.txt"):
        export_analysis(ann, "/proc/video2shop-test/a.txt", "mot")
    with pytest.raises(ExportError, match=r"proc.a\.json"):
        export_analysis(ann, "/proc/a.json", "annotations")


def test_a_full_disk_keeps_the_old_file_whole(tmp_path):
    """RLIMIT_FSIZE in a child process (root obeys it too): the write fails part way, the
    error names the file, the old export is untouched and no temporary file is left."""
    target = tmp_path / "a.json"
    target.write_text("old export")
    r = run_with_file_size_limit(f"""
from engine.annotations import Annotations
from engine.export import ExportError, export_analysis
from engine.types import Track
ann = Annotations(video={{"fps": 25.0, "frame_count": 500, "width": 640, "height": 360}},
                  tracks=[Track(i, [[f, 1, 2, 30, 40, 0.9] for f in range(500)])
                          for i in range(20)])
try:
    export_analysis(ann, {str(target)!r}, "annotations")
except ExportError as exc:
    print("ExportError:", exc)
""", 4096, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ExportError:") and "a.json" in r.stdout, r.stdout
    assert target.read_text() == "old export"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_unwritable_path_gives_export_error_naming_it(ann, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match=r"could not write .*file.sub.a\.xml: "):
        export_analysis(ann, blocker / "sub" / "a.xml", "cvat")
    (tmp_path / "dir.txt").mkdir()  # the target is a folder: os.replace fails
    with pytest.raises(ExportError, match=r"dir\.txt"):
        export_analysis(ann, tmp_path / "dir.txt", "mot")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(ExportError, match=r"dir\.json"):
        export_analysis(ann, tmp_path / "dir.json", "annotations")
    assert {p.name for p in tmp_path.iterdir()} == {"file", "dir.txt", "dir.json"}  # no temps


def test_flag_book_round_trip(tmp_path):
    book = FlagBook("/videos/clip <1>.mp4", "sha1:abc")
    book.add(12, 3, "box", "box drifts\tleft\nfrom here")
    book.add(40, 7, "match", "wrong shop", product_id="p9")
    book.add(41, 7, "match", "dup")
    assert book.remove(2).note == "dup"
    path = book.save(tmp_path / "flags" / "clip.flags.json")
    again = FlagBook.load(path)
    assert again == book
    assert again.flags[0].note == "box drifts\tleft\nfrom here"
    assert again.flags[1].product_id == "p9"
    assert again.flags[0].created.endswith("+00:00")


def test_flag_notes_lose_control_characters_and_are_capped():
    flag = Flag(0, 1, "box", "a\x00b\x1b[31mc\r\nd\x7f" + "x" * 5000)
    assert flag.note.startswith("ab[31mc\nd")
    assert len(flag.note) == NOTE_MAX_CHARS
    with pytest.raises(ValueError, match="kind"):
        Flag(0, 1, "colour", "")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a valid flags file"),
        ("[]", "object with a 'flags' list"),
        ('{"video": 1, "fingerprint": "f", "flags": []}', "'video' must be text"),
        ('{"video": "v", "fingerprint": "f", "flags": [3]}', r"flags\[0\] must be an object"),
        ('{"video": "v", "fingerprint": "f", "flags": [{"frame": 1}]}', r"flags\[0\]: .*missing"),
        (
            '{"video": "v", "fingerprint": "f", "flags": ['
            '{"frame": 1, "track_id": 2, "kind": "box", "note": ""},'
            '{"frame": 1, "track_id": 2, "kind": "blur", "note": ""}]}',
            r"flags\[1\]: kind must be one of box, match, got 'blur'",
        ),
        (
            '{"video": "v", "fingerprint": "f", "flags": ['
            '{"frame": -1, "track_id": 2, "kind": "box", "note": ""}]}',
            r"flags\[0\]: frame must be >= 0",
        ),
        (
            '{"video": "v", "fingerprint": "f", "flags": ['
            '{"frame": 1, "track_id": true, "kind": "box", "note": ""}]}',
            r"flags\[0\]: track_id must be an integer",
        ),
        (
            '{"video": "v", "fingerprint": "f", "flags": ['
            '{"frame": 1, "track_id": 2, "kind": "box", "note": "", "created": "soon"}]}',
            r"flags\[0\]: created must be an ISO time",
        ),
        (
            '{"video": "v", "fingerprint": "f", "flags": ['
            '{"frame": 1, "track_id": 2, "kind": "box", "note": "", "colour": "red"}]}',
            r"flags\[0\]: .*colour",
        ),
    ],
)
def test_flag_book_load_names_the_bad_entry(tmp_path, content, message):
    path = tmp_path / "flags.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError, match=message):
        FlagBook.load(path)


def test_flag_book_load_of_a_missing_file(tmp_path):
    with pytest.raises(ExportError, match=r"could not read flags .*nope\.json"):
        FlagBook.load(tmp_path / "nope.json")


def test_saved_flag_book_is_plain_json(tmp_path):
    book = FlagBook("v.mp4", "f")
    book.add(1, 2, "box", "ok")
    data = json.loads(book.save(tmp_path / "f.json").read_text(encoding="utf-8"))
    assert data["flags"][0] | {"created": None} == {
        "frame": 1, "track_id": 2, "kind": "box", "note": "ok", "product_id": None,
        "created": None,
    }  # fmt: skip
