#!/usr/bin/env python3
"""Is the Table 4 net's weak pooled AUC on Ped2 a matter of one unlucky seed? The same net
in PyTorch (dense 8 … 1024, LeakyReLU 0.3 then batch norm, sigmoid, BCE, Adam 1e-3, batch
256, 20 epochs: what `avad eval` trains), trained leave-one-clip-out on the (audio, video)
anomaly scores of an `avad eval` run's scores.csv, with five seeds per fold. Prints the
pooled frame-level AUC of each seed and of the five seeds' mean P(anomalous), for both
normalisations.

usage: scripts/fusion_seeds_ped2.py [EVAL_DIR/scores.csv]   (default out/ped2-eval/scores.csv)
needs: numpy, torch, scikit-learn
"""
import csv, sys
import numpy as np, torch
from sklearn.metrics import roc_auc_score

torch.set_num_threads(1)
path = sys.argv[1] if len(sys.argv) > 1 else "out/ped2-eval/scores.csv"
rows = list(csv.DictReader(open(path)))
clips = sorted(set(r["clip"] for r in rows))
SEEDS = 5


def table4_net():
    layers, width = [], 2
    for h in [8, 16, 32, 64, 128, 256, 512, 1024]:
        layers += [torch.nn.Linear(width, h), torch.nn.LeakyReLU(0.3), torch.nn.BatchNorm1d(h, eps=1e-3)]
        width = h
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))


for norm in ["minmax", "calibrated"]:
    x = {c: np.array([[1 - float(r["audio_regularity_" + norm]), 1 - float(r["video_regularity_" + norm])]
                      for r in rows if r["clip"] == c], dtype=np.float32) for c in clips}
    y = {c: np.array([float(r["label"]) for r in rows if r["clip"] == c], dtype=np.float32) for c in clips}
    preds = {s: [] for s in range(SEEDS)}
    for held_out in clips:
        xt = np.concatenate([x[c] for c in clips if c != held_out])
        yt = np.concatenate([y[c] for c in clips if c != held_out])
        for s in range(SEEDS):
            torch.manual_seed(s + 1)
            order = np.random.default_rng(s + 1)
            net = table4_net()
            opt = torch.optim.Adam(net.parameters(), 1e-3)
            for _ in range(20):
                idx = order.permutation(len(xt))
                net.train()
                for b in range(0, len(idx), 256):
                    j = idx[b:b + 256]
                    if len(j) < 2:
                        continue
                    logits = net(torch.tensor(xt[j]))[:, 0]
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(yt[j]))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            net.eval()
            with torch.no_grad():
                preds[s].append(torch.sigmoid(net(torch.tensor(x[held_out]))[:, 0]).numpy())
    labels = np.concatenate([y[c] for c in clips])
    singles = [100 * roc_auc_score(labels, np.concatenate(preds[s])) for s in range(SEEDS)]
    mean = np.mean([np.concatenate(preds[s]) for s in range(SEEDS)], axis=0)
    print(f"{norm}: AUC per seed {' / '.join(f'{a:.1f}' for a in singles)}; "
          f"mean of the {SEEDS} seeds' P {100 * roc_auc_score(labels, mean):.1f}")
