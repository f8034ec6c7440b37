"""The product card, in the style of a Chinese shopping app: the picture, the title, the price
big and red, the shop, sales and rating, the match score, and a Buy button. Everything from a
catalogue is shown as plain text; the button only emits the URL (app/ decides whether to open
it)."""

from __future__ import annotations

import html

from PySide6.QtCore import QLocale, QRect, Qt, Signal
from PySide6.QtGui import QFontMetrics, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.types import Match
from ui.i18n import tr

CURRENCY_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


def format_price(price: float | None, currency: str) -> str:
    """The price with its sign ("¥753.26") or its code ("12.50 XYZ"), its digits grouped as
    the interface's locale groups them (1,234.50; 1.234,50 in German)."""
    if price is None:
        return ""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:  # no locale chosen: the English way
        number = f"{price:,.2f}"
    else:
        number = locale.toString(float(price), "f", 2)
    sign = CURRENCY_SIGNS.get(currency.upper())
    return f"{sign}{number}" if sign else f"{number} {currency}"


def _plain(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)  # titles and shops come from feeds
    label.setWordWrap(True)
    return label


class ProductCard(QFrame):
    buy_requested = Signal(str)  # the product's URL
    save_toggled = Signal(bool)  # the heart: keep this product (True) or forget it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("ProductCard { background: white; border-radius: 6px; }")
        self.image = QLabel()
        self.image.setFixedSize(96, 120)
        self.setMinimumHeight(156)  # picture, a title of three lines, price, shop, stats, Buy
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = _plain(QLabel())
        self.price = _plain(QLabel())
        self.price.setStyleSheet("color: #ff5000; font-size: 18px; font-weight: bold;")
        self.shop = _plain(QLabel())
        self.stats = _plain(QLabel())
        self.stats.setStyleSheet("color: #777;")
        self.buy = QPushButton(tr("Buy"))
        self.buy.setAccessibleName(tr("Buy: open the product's page in the browser"))
        self.buy.setStyleSheet("QPushButton { background: #ff5000; color: white; border: none;"
                               " border-radius: 12px; padding: 4px 18px; font-weight: bold; }")
        self.buy.clicked.connect(lambda: self._match and self.buy_requested.emit(
            self._match.url))
        self.heart = QToolButton()
        self.heart.setCheckable(True)
        self.heart.setAutoRaise(True)
        self.heart.setAccessibleName(tr("Save this product"))
        self.heart.setToolTip(tr("Save this product with this moment (View ▸ Saved Products)"))
        self.heart.toggled.connect(self._on_heart)
        self.heart.clicked.connect(lambda on: self.save_toggled.emit(on))
        self._on_heart(False)
        text = QVBoxLayout()
        text.setSpacing(2)
        for w in (self.title, self.price, self.shop, self.stats):
            text.addWidget(w)
        row = QHBoxLayout()
        row.addWidget(self.heart)
        row.addStretch(1)
        row.addWidget(self.buy)
        text.addLayout(row)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        self._match: Match | None = None
        self._title = ""
        self.set_match(None)

    def _on_heart(self, on: bool) -> None:
        self.heart.setText("♥" if on else "♡")
        self.heart.setStyleSheet("QToolButton { color: #ff5000; font-size: 20px; border: none; }"
                                 if on else
                                 "QToolButton { color: #999; font-size: 20px; border: none; }")

    def set_saved(self, on: bool) -> None:
        """Whether the product on the card is saved (no signal: the state, not a click)."""
        self.heart.blockSignals(True)
        self.heart.setChecked(on)
        self.heart.blockSignals(False)
        self._on_heart(on)

    def set_can_save(self, on: bool) -> None:
        """Kiosk mode saves nothing: no heart."""
        self.heart.setVisible(on)

    def _fit_title(self) -> None:
        """At most three lines as the label wraps them; a longer title ends in an ellipsis
        after its last whole word that fits (the tooltip has it all)."""
        fm = QFontMetrics(self.title.font())
        width = max(60, self.title.width() or self.width() - 120)
        limit = 3 * fm.lineSpacing()

        def fits(text: str) -> bool:
            box = fm.boundingRect(QRect(0, 0, width, 100 * limit), Qt.TextFlag.TextWordWrap,
                                  text)
            return box.height() <= limit

        text = self._title
        if not fits(text):
            words = text.split(" ")
            lo, hi = 0, len(words) - 1  # words[:lo] + "…" fits; words[:hi + 1] + "…" may not
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if fits(" ".join(words[:mid]) + "…"):
                    lo = mid
                else:
                    hi = mid - 1
            text = (" ".join(words[:lo]).rstrip(" ,;:-") + "…" if lo else
                    fm.elidedText(text, Qt.TextElideMode.ElideRight, width))
        self.title.setText(text)
        self.title.setToolTip(html.escape(self._title) if text != self._title else "")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._match is not None:
            self._fit_title()

    def set_match(self, match: Match | None) -> None:
        self._match = match
        self.setVisible(match is not None)
        if match is None:
            return
        self._title = match.title or match.product_id
        self._fit_title()
        self.price.setText(format_price(match.price, match.currency))
        self.shop.setText(match.shop)
        stats = [tr("match {score}").format(score=f"{match.score:.2f}")]
        if match.sales is not None:
            stats.append(tr("{n} sold").format(n=f"{match.sales:,}"))
        if match.rating is not None:
            stats.append(f"{match.rating:.1f} ★")
        self.stats.setText("  ·  ".join(stats))
        pix = QPixmap(match.image) if match.image else QPixmap()
        if pix.isNull():
            self.image.setText(tr("no image"))
        else:
            self.image.setPixmap(pix.scaled(self.image.size(),
                                            Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))
        self.buy.setEnabled(bool(match.url))

    @property
    def match(self) -> Match | None:
        return self._match
