"""The interface's translation sources: every ``tr("...")`` literal in ui/ (ui/i18n.py), kept in
resources/i18n/video2shop_LANG.ts (Qt Linguist's format; edit it with pyside6-linguist or by
hand). `make setup` compiles each .ts to .qm with pyside6-lrelease.

    python scripts/i18n.py update [LANG ...]   # add new strings (unfinished), drop gone ones
    python scripts/i18n.py check [LANG ...]    # exit 1 when a string has no translation
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import resources  # noqa: E402

I18N = resources.I18N
CONTEXT = "Video2Shop"
LANGS = ("zh_CN",)


def sources() -> list[str]:
    """Every literal passed to tr() in ui/, in file and line order, once."""
    seen: dict[str, None] = {}
    for path in sorted((ROOT / "ui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "tr" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                seen.setdefault(node.args[0].value, None)
    return list(seen)


def ts_path(lang: str) -> Path:
    return I18N / f"video2shop_{lang}.ts"


def read(lang: str) -> dict[str, str]:
    path = ts_path(lang)
    if not path.is_file():
        return {}
    out = {}
    for msg in ET.parse(path).getroot().iter("message"):
        src, tr = msg.findtext("source"), msg.find("translation")
        if src is not None and tr is not None and tr.get("type") != "unfinished" and tr.text:
            out[src] = tr.text
    return out


def write(lang: str, translations: dict[str, str]) -> None:
    ts = ET.Element("TS", version="2.1", language=lang)
    ctx = ET.SubElement(ts, "context")
    ET.SubElement(ctx, "name").text = CONTEXT
    for src in sources():
        msg = ET.SubElement(ctx, "message")
        ET.SubElement(msg, "source").text = src
        tr = ET.SubElement(msg, "translation")
        if src in translations:
            tr.text = translations[src]
        else:
            tr.set("type", "unfinished")
    ET.indent(ts)
    I18N.mkdir(parents=True, exist_ok=True)
    text = '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + ET.tostring(
        ts, encoding="unicode") + "\n"
    ts_path(lang).write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("update", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    langs = argv[1:] or list(LANGS)
    missing = 0
    for lang in langs:
        have = read(lang)
        if argv[0] == "update":
            write(lang, have)
        todo = [s for s in sources() if s not in have]
        missing += len(todo)
        for s in todo:
            print(f"{lang}: no translation for {s!r}")
    return 1 if argv[0] == "check" and missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
