"""The product card on its own: what a feed's odd rows look like on it (a title too long for
three lines, no picture, no URL, a currency without a sign), and that nothing in them is
rendered as markup."""

import cv2
import numpy as np
from PySide6.QtCore import QRect, Qt

from engine.types import Match
from ui.product_card import ProductCard, format_price


def card_for(qtbot, match):
    card = ProductCard()
    qtbot.addWidget(card)
    card.resize(360, 160)
    card.show()
    card.set_match(match)
    return card


def test_prices_have_their_sign_or_their_code():
    assert format_price(753.256, "CNY") == "¥753.26"
    assert format_price(1234.5, "usd") == "$1,234.50"
    assert format_price(12.5, "XYZ") == "12.50 XYZ"  # unknown: the code after the number
    assert format_price(None, "CNY") == ""


def test_a_long_title_is_elided_and_the_tooltip_holds_it_all(qtbot):
    title = "Silk <i>blend</i> jacket & " + "very long words " * 40
    card = card_for(qtbot, Match("p1", 0.9, title=title, price=10, currency="CNY",
                                 url="https://shop.example/p1"))
    shown = card.title.text()
    assert shown != title and shown.endswith("…") and title.startswith(shown[:-1])
    assert card.title.textFormat() == Qt.TextFormat.PlainText
    assert "&lt;i&gt;blend&lt;/i&gt;" in card.title.toolTip()  # escaped: tooltips are rich text
    # as the label wraps it: never a fourth line, whose top would be cut off by the card (a
    # width-times-three estimate let wrapped titles of long words take four)
    fm = card.title.fontMetrics()
    for width in (280, 160, 150, 120):
        card.resize(width + 120, 160)
        for t in (title, "2026 Winter Loose Wool-Blend Wide Gingham Suit, Long Sleeve, Navy on "
                  "Camel", "Supercalifragilistic " * 12):
            card.set_match(Match("p3", 0.5, title=t))
            shown = card.title.text()
            box = fm.boundingRect(QRect(0, 0, card.title.width(), 10000),
                                  Qt.TextFlag.TextWordWrap, shown)
            assert box.height() <= 3 * fm.lineSpacing(), (width, shown)
            assert shown == t or (shown.endswith("…") and t.startswith(shown[:-1].rstrip()))
    short = card_for(qtbot, Match("p2", 0.9, title="Plain Tee"))
    assert short.title.text() == "Plain Tee" and short.title.toolTip() == ""


def test_no_picture_no_url_and_no_title(qtbot):
    card = card_for(qtbot, Match("p00042", 0.5, image="/nowhere/missing.jpg"))
    assert card.image.text() == "no image" and card.image.pixmap().isNull()
    assert not card.buy.isEnabled()  # nothing to open
    assert card.title.text() == "p00042"  # the id stands in for a missing title
    assert card.price.text() == "" and card.stats.text() == "match 0.50"
    seen = []
    card.buy_requested.connect(seen.append)
    card.buy.click()
    assert seen == []


def test_a_picture_fills_the_frame_and_buy_emits_the_url(qtbot, tmp_path):
    path = tmp_path / "p.jpg"
    cv2.imwrite(str(path), np.full((320, 256, 3), (40, 80, 200), np.uint8))
    card = card_for(qtbot, Match("p3", 0.25, title="Jacket", price=99, currency="EUR",
                                 url="https://shop.example/p3", image=str(path), sales=1200,
                                 rating=4.46))
    pix = card.image.pixmap()
    assert not pix.isNull() and pix.height() == card.image.height()  # 4:5 fits the 96x120 frame
    assert card.stats.text() == "match 0.25  ·  1,200 sold  ·  4.5 ★"
    seen = []
    card.buy_requested.connect(seen.append)
    card.buy.click()
    assert seen == ["https://shop.example/p3"]
    card.set_match(None)
    assert not card.isVisible()
