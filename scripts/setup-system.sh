#!/usr/bin/env bash
# Installs the Debian packages Video2Shop needs at run time and in tests.
# Idempotent: asks dpkg first and only calls apt-get for what is missing.
# Without root or sudo it names the missing packages and the command to run, and carries on
# (the Python tests that need VLC or ffmpeg then say so when they skip).
set -euo pipefail

PACKAGES=(
  # VLC plays the media (python-vlc is only the binding)
  libvlc5 vlc-plugin-base
  # ffmpeg makes test clips and the demo clip
  ffmpeg
  # a virtual screen for `make run` on a headless machine and for screenshots
  xvfb xauth
  # the runtime libraries of Qt's xcb and offscreen platform plugins
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0
  fonts-dejavu-core
  # real footage of people for the real-footage evaluation and tests (vtest.avi, messi5.jpg,
  # basketball1/2.png): scripts/fetch_real_footage.py takes them from here
  opencv-doc
  # a self-signed certificate for the test that TLS verification stays on
  openssl
  # Chinese glyphs: the zh_CN interface, Chinese titles and subtitles (not tofu boxes)
  fonts-wqy-microhei
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "setup: WARNING: missing Debian packages and no root or sudo to install them:" >&2
  echo "  ${missing[*]}" >&2
  echo "  run: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: WARNING: not a Debian-like system (no apt-get); install the equivalents of:" >&2
  echo "  ${missing[*]}" >&2
  exit 0
fi

echo "setup: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: system packages installed"
