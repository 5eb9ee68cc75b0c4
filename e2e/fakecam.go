package e2e

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium's built-in fake camera is a green test card at 1280x720; three browsers encoding it
// as three simulcast layers keep two cores busy. FakeCamera writes a small Y4M clip instead (a
// softly lit room with a person-shaped silhouette that sways, tinted per participant) for
// --use-file-for-fake-video-capture, which Chromium plays in a loop at the clip's size and rate.
// 960x540 is the smallest size for which Chromium sends all three simulcast layers.

// Fake camera clip format.
const (
	fakeCamWidth  = 960
	fakeCamHeight = 540
	fakeCamFPS    = 10
	fakeCamFrames = 20 // a two-second loop
)

// FakeCamera writes a Y4M clip tinted with hue (0-360) into the test's temp dir and returns the
// Chromium option that makes it the camera.
func FakeCamera(t testing.TB, hue float64) chromedp.ExecAllocatorOption {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("camera-%03.0f.y4m", hue))
	if err := writeFakeCamera(path, hue); err != nil {
		t.Fatalf("fake camera: %v", err)
	}
	return chromedp.Flag("use-file-for-fake-video-capture", path)
}

func writeFakeCamera(path string, hue float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", fakeCamWidth, fakeCamHeight, fakeCamFPS)
	const W, H = fakeCamWidth, fakeCamHeight
	y := make([]byte, W*H)
	u := make([]byte, W*H/4)
	v := make([]byte, W*H/4)
	for i := range fakeCamFrames {
		phase := 2 * math.Pi * float64(i) / fakeCamFrames // the loop is seamless
		drawFakeFrame(y, u, v, hue, phase)
		w.WriteString("FRAME\n")
		w.Write(y)
		w.Write(u)
		w.Write(v)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// drawFakeFrame paints one frame in YUV 4:2:0: a wall gradient, a window of light, and a head
// and shoulders that sway with phase.
func drawFakeFrame(y, u, v []byte, hue, phase float64) {
	const W, H = fakeCamWidth, fakeCamHeight
	sway := 6 * math.Sin(phase)
	bob := 2 * math.Sin(2*phase)
	headX, headY, headR := W/2+sway, H*0.42+bob, H*0.17
	bodyX, bodyY, bodyRX, bodyRY := W/2+sway*0.6, H*1.02, W*0.26, H*0.36
	wall := hsl(hue, 0.28, 0.30)
	wallLow := hsl(hue, 0.30, 0.18)
	light := hsl(hue+20, 0.35, 0.55)
	person := hsl(hue+180, 0.18, 0.16)
	for py := range H {
		for px := range W {
			fx, fy := float64(px), float64(py)
			t := fy / H
			c := mix(wall, wallLow, t)
			// A window to the left, brighter at its centre.
			if fx > W*0.08 && fx < W*0.3 && fy > H*0.12 && fy < H*0.62 {
				d := math.Hypot((fx-W*0.19)/(W*0.11), (fy-H*0.37)/(H*0.25))
				c = mix(light, c, math.Min(1, d*0.8))
			}
			// Soft vignette.
			vig := math.Hypot(fx/W-0.5, fy/H-0.5)
			c = mix(c, [3]float64{0, 0, 0}, math.Max(0, vig-0.35)*0.9)
			head := math.Hypot(fx-headX, fy-headY) / headR
			body := math.Hypot((fx-bodyX)/bodyRX, (fy-bodyY)/bodyRY)
			if edge := math.Min(head, body); edge < 1.04 {
				c = mix(person, c, math.Max(0, (edge-1)/0.04))
			}
			yy, _, _ := yuv(c)
			y[py*W+px] = yy
		}
	}
	// Chroma at quarter resolution, from the centre of each 2x2 block.
	for py := 0; py < H/2; py++ {
		for px := 0; px < W/2; px++ {
			fx, fy := float64(px*2), float64(py*2)
			c := mix(wall, wallLow, fy/H)
			head := math.Hypot(fx-headX, fy-headY) / headR
			body := math.Hypot((fx-bodyX)/bodyRX, (fy-bodyY)/bodyRY)
			if math.Min(head, body) < 1 {
				c = person
			}
			_, cu, cv := yuv(c)
			u[py*(W/2)+px] = cu
			v[py*(W/2)+px] = cv
		}
	}
}

// hsl returns RGB in 0..1.
func hsl(h, s, l float64) [3]float64 {
	h = math.Mod(h, 360) / 360
	q := l + s - l*s
	if l < 0.5 {
		q = l * (1 + s)
	}
	p := 2*l - q
	ch := func(t float64) float64 {
		t = t - math.Floor(t)
		switch {
		case t < 1.0/6:
			return p + (q-p)*6*t
		case t < 0.5:
			return q
		case t < 2.0/3:
			return p + (q-p)*(2.0/3-t)*6
		}
		return p
	}
	return [3]float64{ch(h + 1.0/3), ch(h), ch(h - 1.0/3)}
}

func mix(a, b [3]float64, t float64) [3]float64 {
	t = math.Max(0, math.Min(1, t))
	return [3]float64{a[0]*(1-t) + b[0]*t, a[1]*(1-t) + b[1]*t, a[2]*(1-t) + b[2]*t}
}

// yuv converts RGB (0..1) to full-range BT.601 Y'CbCr (what C420jpeg means).
func yuv(c [3]float64) (byte, byte, byte) {
	r, g, b := c[0]*255, c[1]*255, c[2]*255
	clamp := func(x float64) byte { return byte(math.Max(0, math.Min(255, math.Round(x)))) }
	return clamp(0.299*r + 0.587*g + 0.114*b),
		clamp(128 - 0.168736*r - 0.331264*g + 0.5*b),
		clamp(128 + 0.5*r - 0.418688*g - 0.081312*b)
}
