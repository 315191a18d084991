#!/usr/bin/env python3
"""PyTorch's side of examples/layer_profile.rs: forward + backward of single layers of the
visual model (Table 3), 2 threads, to set beside burn's rows in the same hour.

usage: torch_layers.py [frames=20] [side=240]   (needs torch)
The ConvLSTM is the cell of ../shared/bench/torch_reference.py's formulation (one 3x3
convolution of [x_t, h_{t-1}] into the four gates, order i, f, g, o).
"""
import sys, time
import torch

torch.set_num_threads(2)
frames = int(sys.argv[1]) if len(sys.argv) > 1 else 20
side = int(sys.argv[2]) if len(sys.argv) > 2 else 240


def timed(name, f):
    f()
    start = time.time()
    for _ in range(2):
        f()
    print(f"{name:>40}: {(time.time() - start) / 2:.3f} s")


x = torch.rand(frames, 32, side, side, requires_grad=True)
conv = torch.nn.Conv2d(32, 1, 7, padding=3)
timed("output conv 32->1 7x7 fwd+bwd", lambda: conv(x).sum().backward())
xd = torch.rand(frames, 64, side // 4, side // 4, requires_grad=True)
deconv = torch.nn.ConvTranspose2d(64, 32, 5, stride=4, padding=1, output_padding=1)
timed("deconv2 64->32 5x5 s4 fwd+bwd", lambda: deconv(xd).sum().backward())
norm, r = torch.nn.BatchNorm2d(32), torch.rand(frames, 32, side, side)
timed("batch norm + leaky relu fwd+bwd", lambda: (torch.nn.functional.leaky_relu(norm(x), 0.3) * r).sum().backward())
timed("the weighted sum alone fwd+bwd", lambda: (x * r).sum().backward())


class ConvLstm(torch.nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.cout = cout
        self.conv = torch.nn.Conv2d(cin + cout, 4 * cout, 3, padding=1)

    def forward(self, x):
        b, steps, _, h, w = x.shape
        hid = torch.zeros(b, self.cout, h, w)
        cell = torch.zeros(b, self.cout, h, w)
        out = []
        for t in range(steps):
            i, f, g, o = self.conv(torch.cat([x[:, t], hid], 1)).chunk(4, 1)
            cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
            hid = torch.sigmoid(o) * torch.tanh(cell)
            out.append(hid)
        return torch.stack(out, 1)


for cin, cout in [(64, 64), (64, 32), (32, 64)]:
    layer = ConvLstm(cin, cout)
    xs = torch.rand(frames // 10, 10, cin, side // 8, side // 8, requires_grad=True)
    timed(f"convlstm {cin}->{cout} 3x3 fwd+bwd", lambda: layer(xs).sum().backward())
