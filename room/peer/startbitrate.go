package peer

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// PublisherStartBitrate is where a Chromium publisher's send estimate starts, in kbps, told in
// its answer's video fmtp (x-google-start-bitrate, as mediasoup's videoGoogleStartBitrate does).
// Chromium starts at 300 kbps, where only the lowest simulcast layers are sent, and without RTX
// its first probe can find no media to pad: the top layer then waited 10-15 s for the estimate
// to creep up (issue 21's 1:1 call). Other browsers ignore the parameter; a link that cannot
// carry this much is found within the first round trips by loss and delay, as at any start.
const PublisherStartBitrate = 1000

// withStartBitrate adds x-google-start-bitrate to every video codec of an answer (not RTX, RED
// or FEC, whose fmtp say what they repair). An answer it cannot read is returned as it was.
func withStartBitrate(answer string, kbps int) string {
	var d sdp.SessionDescription
	if kbps <= 0 || d.UnmarshalString(answer) != nil {
		return answer
	}
	param := "x-google-start-bitrate=" + strconv.Itoa(kbps)
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		video, hasFmtp := map[string]bool{}, map[string]bool{} // by payload type
		for _, a := range m.Attributes {
			pt, rest, _ := strings.Cut(a.Value, " ")
			switch a.Key {
			case "rtpmap":
				name, _, _ := strings.Cut(rest, "/")
				video[pt] = !slices.ContainsFunc([]string{"rtx", "red", "ulpfec", "flexfec-03"},
					func(x string) bool { return strings.EqualFold(x, name) })
			case "fmtp":
				hasFmtp[pt] = true
			}
		}
		attrs := make([]sdp.Attribute, 0, len(m.Attributes)+len(video))
		for _, a := range m.Attributes {
			pt, params, _ := strings.Cut(a.Value, " ")
			switch {
			case a.Key == "fmtp" && video[pt] && !strings.Contains(params, "x-google-start-bitrate"):
				a.Value = pt + " " + strings.TrimPrefix(params+";"+param, ";")
			case a.Key == "rtpmap" && video[pt] && !hasFmtp[pt]: // a codec without fmtp gets one
				attrs = append(attrs, a)
				a = sdp.NewAttribute("fmtp", pt+" "+param)
			}
			attrs = append(attrs, a)
		}
		m.Attributes = attrs
	}
	out, err := d.Marshal()
	if err != nil {
		return answer
	}
	return string(out)
}
