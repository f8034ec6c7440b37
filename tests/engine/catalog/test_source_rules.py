"""Reading the project's own catalogue formats, one rule at a time with whole messages
(engine/catalog/importer.py's JSON Lines, CSV and JSON readers), written from the mutation
check's survivors (docs/testing.md): the import report shows these words to a shop owner."""

from __future__ import annotations

import json

import pytest

from engine.catalog.importer import SourceError, _csv, _json_items, _jsonl, _page_items


def rows(reader) -> list[tuple[str, object, str]]:
    return [(label, str(raw) if isinstance(raw, Exception) else raw, base)
            for label, raw, base in reader]


def test_csv_rows_with_their_line_numbers_and_errors(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text('\ufeffid,title,price,attributes\n'
                   'a,A,10,"{""n"": 1}"\n'
                   'b,"B, long",,\n'
                   'c,C,3,4,extra\n'
                   'd,D,4,{bad\n'
                   'e,"multi\nline",5,\n', encoding="utf-8")
    got = rows(_csv(src))
    base = str(tmp_path)
    assert got == [
        ("line 2", {"id": "a", "title": "A", "price": "10", "attributes": {"n": 1}}, base),
        ("line 3", {"id": "b", "title": "B, long"}, base),  # empty cells are left out
        ("line 4", "more fields than columns", base),
        ("line 5", "attributes is not a JSON object", base),
        ("line 7", {"id": "e", "title": "multi\nline", "price": "5"}, base),
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("title,price\nA,1\n", "{path}: the first line must name the columns (id, title, category, "
                           "price, currency, url, image or images, ...)"),
    ("", "{path}: the first line must name the columns (id, title, category, price, currency, "
         "url, image or images, ...)"),
])
def test_a_csv_without_an_id_column_is_refused(tmp_path, content, message):
    src = tmp_path / "p.csv"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        list(_csv(src))
    assert str(err.value) == message.format(path=src)


def test_a_csv_that_is_not_utf8_or_breaks_midway(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,title\nx,caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError) as err:
        list(_csv(latin))
    assert str(err.value) == f"{latin} is not UTF-8 text"
    huge = tmp_path / "huge.csv"
    huge.write_text("id,title\na,A\nb," + "x" * 200_000 + "\n", encoding="utf-8")
    got = []
    with pytest.raises(SourceError) as err:
        got.extend(_csv(huge))
    assert [label for label, _, _ in got] == ["line 2"]  # the rows before it were read
    # the failing row starts on line 3; the reader knows the lines it finished
    assert str(err.value) == (f"{huge}: after line 2: field larger than field limit (131072); "
                              "the rows before it were imported")


def test_json_lines_with_their_errors(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_bytes(b'{"id": "a"}\n\n{"id": \n' + "caf\xe9\n".encode("latin-1")
                    + b"[" * 5000 + b"\n" + b'{"n": 1e999999}\n')
    got = rows(_jsonl(src))
    base = str(tmp_path)
    assert got[0] == ("line 1", {"id": "a"}, base)
    assert got[1] == ("line 3", "bad JSON (Expecting value at column 1)", base)
    assert got[2] == ("line 4", "not UTF-8 text", base)
    assert got[3][0] == "line 5" and got[3][1].startswith("bad JSON (")
    assert got[4] == ("line 6", {"n": float("inf")}, base)  # parsed: the validator refuses it


def test_json_lists_and_wrapped_lists(tmp_path):
    src = tmp_path / "p.json"
    assert rows(_json_items(src, [{"id": 1}, 2])) == [("item 1", {"id": 1}, str(tmp_path)),
                                                       ("item 2", 2, str(tmp_path))]
    assert _page_items({"items": [1]}) == [1] and _page_items({"products": [2]}) == [2]
    assert _page_items({"products": "x", "items": [3]}) == [3]
    assert _page_items({"data": []}) is None and _page_items("x") is None
    with pytest.raises(SourceError) as err:
        list(_json_items(src, {"data": []}))
    assert str(err.value) == f'{src}: expected a list of products or {{"products": [...]}}'
    assert json.loads('{"a": 1}')  # the reader takes what json gives
