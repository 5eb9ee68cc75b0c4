package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/serverapi"
)

// adminStats reads the node's admin statistics with a minted admin token.
func adminStats(t *testing.T, n *server.Node) serverapi.AdminStats {
	t.Helper()
	tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: "ops", Grant: auth.Grant{RoomAdmin: true, RoomList: true}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("GET", n.HTTPURL()+"/api/admin/stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st serverapi.AdminStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkOwnPaths: Chromium's media and RTCP take Podium's own read and write paths: over one
// second, nearly every packet a browser publishes is decrypted and forwarded by the media
// socket's reader, nearly every packet a browser receives is encrypted and sent by Podium, and
// its receiver reports are read there too.
func checkOwnPaths(t *testing.T, n *server.Node) {
	t.Helper()
	type counts struct{ pkts, direct, rtcp uint64 }
	sample := func() (in, out counts) {
		for _, r := range adminStats(t, n).Rooms {
			for _, p := range r.Participants {
				for _, tr := range p.Tracks {
					in.pkts += tr.Packets
					in.direct += tr.DirectPackets
				}
				for _, s := range p.Subscriptions {
					out.pkts += s.Packets
					out.direct += s.DirectPackets
					out.rtcp += s.DirectRTCP
				}
			}
		}
		return in, out
	}
	in0, out0 := sample()
	time.Sleep(time.Second)
	in1, out1 := sample()
	inPkts, inDirect := in1.pkts-in0.pkts, in1.direct-in0.direct
	outPkts, outDirect := out1.pkts-out0.pkts, out1.direct-out0.direct
	t.Logf("in a second: %d of %d packets in and %d of %d out on Podium's paths; %d RTCP packets read there in all",
		inDirect, inPkts, outDirect, outPkts, out1.rtcp)
	if inPkts == 0 || inDirect < inPkts*95/100 {
		t.Errorf("%d of %d packets from the browser on Podium's read path, want nearly all", inDirect, inPkts)
	}
	if outPkts == 0 || outDirect < outPkts*95/100 {
		t.Errorf("%d of %d packets to the browser on Podium's write path, want nearly all", outDirect, outPkts)
	}
	// Receiver reports come every second or few (RFC 3550's randomised interval): count them
	// since the start, and give them a few more seconds.
	for deadline := time.Now().Add(5 * time.Second); out1.rtcp == 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		_, out1 = sample()
	}
	if out1.rtcp == 0 {
		t.Error("no RTCP from the browser on Podium's read path")
	}
}
