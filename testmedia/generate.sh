#!/usr/bin/env bash
# generate.sh regenerates the committed media fixtures in this directory from
# ffmpeg's synthetic lavfi sources (testsrc2 video, sine audio). Nothing is
# downloaded and nothing outside this directory is written.
#
# Usage: testmedia/generate.sh [-f]
#   Without -f, files that already exist are left alone, so running the script
#   twice is a no-op. With -f every fixture is re-encoded. Each output is
#   written to a temporary name and renamed only on success, so an interrupted
#   run never leaves a truncated fixture behind.
#   H.264 and Opus come out byte-identical on every run; VP8 does not (libvpx's
#   realtime mode adapts its speed to the wall clock), so re-encode VP8 only
#   when the settings change, and re-run `go test ./testmedia` afterwards.
#
# DURATION, FPS, GOP and the VP8 temporal layering (SCALABILITY) must match
# the constants in testmedia.go; the tests in testmedia_test.go check the files
# against them.
#
# Outputs (6 s each):
#   vp8-320x180.ivf, vp8-640x360.ivf, vp8-1280x720.ivf
#       One 1280x720 testsrc2 source split and scaled to three sizes, encoded
#       in a single ffmpeg run so all three have exactly the same frames. They
#       are the simulcast layers q/h/f: fixed 90-frame keyframe interval
#       (keyint_min == g disables libvpx's own keyframe placement), so
#       keyframes sit at frames 0, 90, ... in all three. Each carries three
#       VP8 temporal layers, as Chrome sends simulcast (see vp8_opts), and
#       names that structure, L1T3, in its IVF header (see mark_scalability).
#   h264-640x360.h264
#       Annex-B, constrained baseline, no B-frames, one slice per frame,
#       SPS/PPS repeated before every IDR (every 90 frames, scene cuts off).
#       SEI NAL units (x264's version banner) are stripped so the stream
#       starts SPS, PPS, IDR.
#   opus-48k.ogg
#       48 kHz stereo Opus, 440 Hz sine, 20 ms frames, one packet per page.
#       Constrained VBR: plain VBR spends ~48 kbps on a pure tone.
#
# Requires ffmpeg built with libvpx, libx264 and libopus (Debian's ffmpeg is).
set -euo pipefail

cd "$(dirname "$0")"

force=0
if [[ "${1:-}" == "-f" ]]; then
	force=1
elif [[ $# -gt 0 ]]; then
	echo "usage: $0 [-f]" >&2
	exit 2
fi

FFMPEG=${FFMPEG:-ffmpeg}
DURATION=6
FPS=30
GOP=90
SCALABILITY=L1T3

common=(-hide_banner -loglevel error -y)
# Per-output options: bitexact keeps muxer output reproducible (e.g. a fixed
# Ogg serial number, no encoder version strings in the containers).
out=(-fflags +bitexact -map_metadata -1)

need() {
	local f
	[[ $force == 1 ]] && return 0
	for f in "$@"; do
		[[ -s $f ]] || return 0
	done
	echo "up to date: $*"
	return 1
}

# vp8_opts KBPS: libvpx settings shared by the three layers, KBPS the total
# bitrate in kbit/s. Equal -b:v/-minrate/-maxrate selects libvpx CBR, as a
# WebRTC sender would use.
#
# Temporal layers (-ts-parameters, libavcodec/libvpxenc.c): ts_layering_mode=3
# is libvpx's three-layer pattern over four frames, layer ids 0,2,1,2, with
# these references (LAST, GOLDEN and ALTREF are VP8's three frame buffers):
#   position 0, TL0: references LAST, updates LAST (a TL0 refers to TL0 only)
#   position 1, TL2: references LAST (the TL0 just before), updates nothing
#   position 2, TL1: references LAST (that TL0), updates GOLDEN
#   position 3, TL2: references GOLDEN (the TL1 just before), updates nothing
# So leaving out every TL2 frame, or every TL1 and TL2 frame, leaves a stream
# that decodes; positions 1 and 2 are layer sync frames (they refer to TL0
# only), position 3 is not. ts_layering_mode must come last: it sets the
# periodicity, the rate decimators and the layer ids itself (the values
# given before it are the same, spelled out). ts_target_bitrate is in kbit/s
# and cumulative per layer: 40 %, 60 % and 100 % of the total, the split
# libwebrtc gives three temporal layers (TL0 40 %, TL1 20 %, TL2 40 %).
#
# Keyframes: ffmpeg starts the layer pattern again only at a keyframe it asks
# for (frame marked I), not at one libvpx places itself, and 90 is not a
# multiple of 4: libvpx's own keyframe at frame 90 would fall on a TL1
# position, and the frames after it would keep counting from frame 0. Forcing
# the keyframes at the frames where libvpx puts them anyway (multiples of GOP)
# makes each a TL0 frame that starts the pattern again, as libwebrtc does; the
# frame after frame 179 is frame 0 again, a keyframe, when a player loops.
vp8_opts() {
	local kbps=$1
	echo -c:v libvpx -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" \
		-deadline realtime -cpu-used 8 \
		-g "$GOP" -keyint_min "$GOP" -force_key_frames "expr:eq(mod(n,$GOP),0)" \
		-auto-alt-ref 0 -lag-in-frames 0 -error-resilient 1 \
		-ts-parameters "ts_number_layers=3:ts_target_bitrate=$((kbps * 40 / 100)),$((kbps * 60 / 100)),$kbps:ts_rate_decimator=4,2,1:ts_periodicity=4:ts_layer_id=0,2,1,2:ts_layering_mode=3" \
		-flags +bitexact -fflags +bitexact -map_metadata -1 -f ivf
}

# mark_scalability FILE: write $SCALABILITY into the 4 unused bytes at offset
# 28 of an IVF file header, which decoders (libvpx, ffmpeg, pion) skip. The Go
# SDK's IVF source (client/media) reads it to know each frame's temporal
# layer: files without it are sent without temporal layer information.
mark_scalability() {
	printf '%s' "$SCALABILITY" | dd of="$1" bs=1 seek=28 count=4 conv=notrunc status=none
}

tmp=()
cleanup() { rm -f "${tmp[@]}"; }
trap cleanup EXIT

if need vp8-320x180.ivf vp8-640x360.ivf vp8-1280x720.ivf; then
	echo "encoding VP8 layers"
	tmp+=(.q.ivf.tmp .h.ivf.tmp .f.ivf.tmp)
	# shellcheck disable=SC2046 # word splitting of vp8_opts is intended
	"$FFMPEG" "${common[@]}" \
		-f lavfi -t "$DURATION" -i "testsrc2=size=1280x720:rate=$FPS" \
		-filter_complex "[0:v]split=3[a][b][c];[a]scale=320:180[q];[b]scale=640:360[h];[c]null[f]" \
		-map '[q]' $(vp8_opts 150) .q.ivf.tmp \
		-map '[h]' $(vp8_opts 450) .h.ivf.tmp \
		-map '[f]' $(vp8_opts 1200) .f.ivf.tmp
	for f in .q.ivf.tmp .h.ivf.tmp .f.ivf.tmp; do
		mark_scalability "$f"
	done
	mv .q.ivf.tmp vp8-320x180.ivf
	mv .h.ivf.tmp vp8-640x360.ivf
	mv .f.ivf.tmp vp8-1280x720.ivf
fi

if need h264-640x360.h264; then
	echo "encoding H.264"
	tmp+=(.h264.tmp)
	"$FFMPEG" "${common[@]}" \
		-f lavfi -t "$DURATION" -i "testsrc2=size=1280x720:rate=$FPS" \
		-vf scale=640:360 \
		-c:v libx264 -profile:v baseline -level 3.1 -pix_fmt yuv420p \
		-b:v 450k -bf 0 -g "$GOP" -keyint_min "$GOP" \
		-x264-params sliced-threads=0:repeat-headers=1:scenecut=0 \
		-bsf:v filter_units=remove_types=6 \
		"${out[@]}" -f h264 .h264.tmp
	mv .h264.tmp h264-640x360.h264
fi

if need opus-48k.ogg; then
	echo "encoding Opus"
	tmp+=(.ogg.tmp)
	"$FFMPEG" "${common[@]}" \
		-f lavfi -t "$DURATION" -i "sine=frequency=440:sample_rate=48000" \
		-af aformat=channel_layouts=stereo \
		-c:a libopus -b:a 32k -vbr constrained -frame_duration 20 -application audio \
		-page_duration 20000 "${out[@]}" -f ogg .ogg.tmp
	mv .ogg.tmp opus-48k.ogg
fi

ls -l ./*.ivf ./*.h264 ./*.ogg
