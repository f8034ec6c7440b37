"""The interface's words through Qt's translations: ``tr("&File")`` is "文件(&F)" once
app/i18n.py has installed the zh_CN translator, and itself otherwise. One context for every
string ("Video2Shop"); scripts/i18n.py collects the ``tr("...")`` literals of ui/ into
resources/i18n/*.ts, which `make setup` compiles to .qm with pyside6-lrelease."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "Video2Shop"


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)
