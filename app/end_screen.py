"""The end screen: the products seen in the video, once each, in the order they first
appear, when it ends (not in kiosk mode, which loops) (issue 15: beside the controller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.controller import PlayerController


class EndScreen:
    def __init__(self, player: PlayerController) -> None:
        self.player = player

    def items(self) -> list:
        """Every product matched in this video, once, in the order they first appear."""
        p = self.player
        from ui.carousel import CarouselItem
        from ui.product_card import format_price

        snap = p.snapshot
        tracks = snap.tracks if snap is not None else (
            list(p.annotations.tracks.values()) if p.annotations else [])
        seen, items = set(), []
        for t in sorted((t for t in tracks if t.matches and len(t.boxes)),
                        key=lambda t: t.first_frame):
            m = t.matches[0]
            if m.product_id in seen:
                continue
            seen.add(m.product_id)
            items.append(CarouselItem(t.track_id, t.first_frame, m.product_id,
                                      m.title or m.product_id,
                                      format_price(m.price, m.currency or ""),
                                      p.lists.thumbnail(m.image)))
        return items

    def show(self) -> bool:
        """The end screen: the products seen in the video (not in kiosk mode, which loops)."""
        p = self.player
        items = self.items()
        car = p.window.carousel
        if not items or p.window.kiosk:
            car.dismiss()
            return False
        car.set_items(items)
        car.place(p.window.video.video_rect())
        car.show()
        car.raise_()
        return True
