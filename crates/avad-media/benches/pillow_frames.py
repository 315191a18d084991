"""The PyTorch peer's frame loader (shared/bench/torch_ped2_baseline.py), timed on
the same Ped2 test frames as benches/ped2_frames.rs: best of 3 rounds, 1 thread."""
import os, sys, time
import numpy as np
from PIL import Image

root = sys.argv[1]
files = []
for i in range(1, 13):
    d = os.path.join(root, f"Test{i:03d}")
    files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".jpg")]
best = float("inf")
for r in range(3):
    t = time.perf_counter()
    for f in files:
        a = np.asarray(Image.open(f).convert("L").resize((240, 240), Image.BILINEAR), dtype=np.float32) / 255.0
    s = time.perf_counter() - t
    best = min(best, s)
    print(f"Pillow round {r}: {len(files)} frames in {s:.3f} s ({len(files)/s:.0f} frames/s)")
print(f"pillow_fps {len(files)/best:.1f}")
