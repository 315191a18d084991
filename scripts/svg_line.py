#!/usr/bin/env python3
"""A line plot of one column of a CSV against another, as a small SVG (no libraries):
    scripts/svg_line.py DATA.csv XCOLUMN YCOLUMN OUT.svg "TITLE" ["X LABEL" "Y LABEL"]
"""
import csv
import sys

data, xcol, ycol, out, title = sys.argv[1:6]
xlabel = sys.argv[6] if len(sys.argv) > 6 else xcol
ylabel = sys.argv[7] if len(sys.argv) > 7 else ycol
rows = list(csv.DictReader(open(data)))
xs = [float(r[xcol]) for r in rows]
ys = [float(r[ycol]) for r in rows]
w, h, left, right, top, bottom = 640, 320, 64, 16, 32, 44
x0, x1 = 0.0, max(xs)
y0, y1 = 0.0, max(ys) * 1.1
px = lambda x: left + (x - x0) / (x1 - x0) * (w - left - right)
py = lambda y: h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)
step = lambda span: next(s for s in [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] if span / s <= 8)
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">{title}</text>']
s = step(y1 - y0)
y = 0.0
while y <= y1:
    parts.append(f'<line x1="{left}" x2="{w - right}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
    parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    y += s
s = step(x1 - x0)
x = 0.0
while x <= x1:
    parts.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{x:g}</text>')
    x += s
parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">{xlabel}</text>')
parts.append(f'<text x="14" y="{(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 {(top + h - bottom) / 2})">{ylabel}</text>')
points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
parts.append(f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
parts.append("</svg>")
open(out, "w").write("\n".join(parts) + "\n")
