#!/usr/bin/env bash
# One run on a lent GPU machine (a few minutes): does the CUDA path work, and how fast is it?
#   bash scripts/gpu-check.sh [OUT_DIR]
# Needs the project's venv (make setup) with a CUDA build of torch, or a python on PATH that
# has one (set PYTHON=...). Writes OUT_DIR/bench-gpu-<date>.json and the test log; commit the
# JSON under docs/bench/ with a line in the README's performance section.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-docs/bench}}"
PY="${PYTHON:-.venv/bin/python}"
mkdir -p "$OUT"
stamp="$(date +%Y-%m-%d)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PY" - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
assert torch.cuda.is_available(), "torch sees no GPU: a CPU build of torch, or no driver"
print(torch.cuda.get_device_name(0))
PY
# the CUDA path end to end: detector, world classifier, matcher on the GPU, checked against the
# CPU's answers on the same frames
"$PY" - <<'PY'
import cv2, numpy as np
from engine.detect import create_detector
from engine.detect.world import FeatureNet, WorldClassifier
from engine.asymnet.model import TrajectoryMatcher
cap = cv2.VideoCapture("resources/demo/demo.mp4")
frames = [cap.read()[1] for _ in range(8)]
g_cpu, g_gpu = create_detector("garment", device="cpu"), create_detector("garment", device="cuda")
a, b = g_cpu.detect(frames[:1])[0], g_gpu.detect(frames[:1])[0]
print("garment boxes cpu/gpu", len(a), len(b))
assert abs(len(a) - len(b)) <= 1
w_cpu = WorldClassifier(features=FeatureNet("cpu")).p_synthetic(frames)
w_gpu = WorldClassifier(features=FeatureNet("cuda")).p_synthetic(frames)
print("world p cpu/gpu max diff", float(np.abs(w_cpu - w_gpu).max()))
assert np.abs(w_cpu - w_gpu).max() < 0.02
m_cpu, m_gpu = TrajectoryMatcher(device="cpu"), TrajectoryMatcher(device="cuda")
boxes = np.array([[100, 60, 220, 300]] * 8, np.float32)
e_cpu, e_gpu = m_cpu.embed_crops([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames], boxes), \
    m_gpu.embed_crops([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames], boxes)
print("IFN cosine cpu/gpu min", float((e_cpu * e_gpu).sum(1).min()))
assert (e_cpu * e_gpu).sum(1).min() > 0.99
PY
QT_QPA_PLATFORM=offscreen "$PY" -m pytest -q tests/engine/test_garment_detector.py \
    tests/engine/test_matching.py tests/engine/test_people.py tests/engine/test_device.py 2>&1 | tee "$OUT/gpu-tests-$stamp.log" | tail -3
"$PY" -m app.cli bench --only engine real asymnet faiss --device cuda --quick \
    --out "$OUT/bench-gpu-$stamp.json"
