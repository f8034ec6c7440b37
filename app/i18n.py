"""The interface's language: ``--lang`` or the system's locale (``LANG``, ``LC_ALL``), with
the translations `make setup` compiles (resources/i18n/video2shop_LANG.qm, from the .ts next
to it) and Qt's own for its standard dialogs. English needs nothing; a language without a
translation falls back to English with a message. Prices follow the same locale
(ui/product_card.py format_price)."""

from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

from engine.resources import I18N

AVAILABLE = ("zh_CN",)


def choose(lang: str | None) -> str:
    """``lang`` as given ("zh_CN", "zh-CN", "zh"), or the system's; "en" when neither asks
    for a translation we have."""
    name = (lang or QLocale.system().name() or "en").replace("-", "_")
    for have in AVAILABLE:
        if name == have or name.split("_")[0] == have.split("_")[0]:
            return have
    return name


def install_translation(app, lang: str | None) -> str:
    """Installs the translators for ``lang`` on ``app``; returns a message when it asked for a
    translation that is not there, else ""."""
    name = choose(lang)
    if name.split("_")[0] in ("en", "C", "c", "POSIX"):
        return ""
    qm = I18N / f"video2shop_{name}.qm"
    if name not in AVAILABLE:
        return (f"no {name} translation of the interface (there are: {', '.join(AVAILABLE)}); "
                "showing English") if lang else ""
    ours = QTranslator(app)
    if not ours.load(str(qm)):
        return (f"the {name} translation is not built ({qm.name} is missing): run `make setup`; "
                "showing English")
    app.installTranslator(ours)
    qt = QTranslator(app)  # Qt's own words: file dialogs, Cancel, OK
    where = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt.load(QLocale(name), "qtbase", "_", where):
        app.installTranslator(qt)
    QLocale.setDefault(QLocale(name))
    app._video2shop_translators = (ours, qt)  # kept alive with the app
    return ""
