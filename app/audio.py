"""The Audio menu: the open file's audio tracks (ffprobe), the one chosen last time for it,
switched in the playback backend (issue 15: beside the player's controller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.controller import PlayerController


class AudioTracks:
    def __init__(self, player: PlayerController) -> None:
        self.player = player
        self.streams: list = []  # engine.video.AudioStream of the open file
        self.current = -1

    def open(self, path: str) -> None:
        """The Audio menu for a new file: its tracks, the one chosen last time for it, else
        the one it flags as default, else the first."""
        p = self.player
        from engine.video import audio_streams

        self.streams = audio_streams(path)
        remembered = p.settings.audio_track(path)
        default = next((s.position for s in self.streams if s.default), 0)
        current = remembered if remembered is not None and \
            0 <= remembered < len(self.streams) else default
        self.current = current if self.streams else -1
        if p.backend is not None and self.current >= 0:
            p.backend.set_audio_track(self.current)
        self.publish()

    def publish(self) -> None:
        p = self.player
        playable = (p.backend is None and p.use_vlc) or bool(
            p.backend is not None and p.backend.has_audio_tracks)
        p.window.set_audio_tracks([s.name() for s in self.streams],
                                     self.current, playable)

    def select(self, position: int) -> bool:
        """Audio ▸ a track: played from now on, and remembered for this file."""
        p = self.player
        if p.info is None or not 0 <= position < len(self.streams):
            return False
        self.current = position
        p.settings.set_audio_track(p.info.path, position)
        if p.backend is not None:
            p.backend.set_audio_track(position)
        self.publish()
        p.show_status(f"Audio: {self.streams[position].name()}")
        return True
