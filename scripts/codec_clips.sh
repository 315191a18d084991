#!/usr/bin/env bash
# Ped2's 12 test clips, and the `cpu` visual model's 5 held-out normal training clips, as
# H.264 MP4 files (10 fps, yuv420p) in a dataset folder avad reads (test/NAME.mp4 with
# NAME.labels.csv beside it, train/NAME.mp4), for scoring what a camera's H.264 gives.
# usage: scripts/codec_clips.sh OUT CRF [PED2]   (CRF 0: lossless, -qp 0)
# then:  avad score OUT --model MODEL --out SCORES   (an `ffmpeg` build)
#        scripts/codec_shift.py REFERENCE_SCORES SCORES...
set -euo pipefail
out=$1; crf=$2; ped2=${3:-../shared/datasets/ucsd-ped2}
P=$ped2/UCSDped2
if [[ $crf == 0 ]]; then quality=(-qp 0); else quality=(-crf "$crf"); fi
mkdir -p "$out/test" "$out/train"
mapfile -t ranges < <(grep gt_frame "$P/Test/UCSDped2.m" | sed 's/.*\[\(.*\)\].*/\1/' | tr -d ' ')
encode() { ffmpeg -loglevel error -y -framerate 10 -i "$1/%03d.jpg" -c:v libx264 -preset medium "${quality[@]}" -pix_fmt yuv420p "$2"; }
for i in $(seq 1 12); do
    n=$(printf "Test%03d" "$i")
    encode "$P/Test/$n" "$out/test/$n.mp4"
    r=${ranges[$((i - 1))]}
    printf "start,end\n%s,%s\n" "${r%%:*}" "${r##*:}" > "$out/test/$n.labels.csv"
done
for n in Train002 Train005 Train006 Train007 Train016; do
    encode "$P/Train/$n" "$out/train/$n.mp4"
done
