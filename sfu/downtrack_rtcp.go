package sfu

// A down track's side of the subscriber's RTCP: PLIs and FIRs upstream, NACKs answered from the
// receiver's cache, receiver reports, and the sender reports it writes.

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/internal/rtpext"
)

// StartRTCP reads the subscriber's RTCP for this track (PLI, FIR, NACK, reports) until the sender
// stops. WaitRTCP joins the goroutine after the sender was removed.
func (d *DownTrack) StartRTCP(sender *webrtc.RTPSender) {
	d.rtcpDone = make(chan struct{})
	go d.rtcpLoop(sender)
}

// WaitRTCP waits for the RTCP goroutine after the sender was stopped.
func (d *DownTrack) WaitRTCP() {
	if d.rtcpDone != nil {
		<-d.rtcpDone
	}
}

func (d *DownTrack) rtcpLoop(sender *webrtc.RTPSender) {
	defer close(d.rtcpDone)
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		if pkts := unmarshalRTCP(buf[:n]); len(pkts) > 0 {
			d.HandleRTCP(pkts)
		}
	}
}

// unmarshalRTCP parses a compound RTCP packet but for its transport-wide feedback, which only
// the estimator reads (and parses itself): most of what a subscriber sends is feedback, ten
// times a second. A malformed part ends the parse; what came before it counts.
func unmarshalRTCP(b []byte) []rtcp.Packet {
	var out []rtcp.Packet
	for part, rest, ok := rtpext.SplitRTCP(b); ok; part, rest, ok = rtpext.SplitRTCP(rest) {
		if rtpext.IsTWCC(part) {
			continue
		}
		p, err := rtcp.Unmarshal(part)
		if err != nil {
			break
		}
		out = append(out, p...)
	}
	return out
}

// HandleRTCP acts on RTCP from the subscriber.
func (d *DownTrack) HandleRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		d.handleRTCPPacket(p)
	}
}

// handleRTCPPacket acts on one RTCP packet. pion's reader goroutine and Podium's read path
// (sfu/fastpath) both call it, for a moment both at once when a connection starts.
func (d *DownTrack) handleRTCPPacket(p rtcp.Packet) {
	d.rtcpMu.Lock()
	defer d.rtcpMu.Unlock()
	switch p := p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		d.plis.Add(1)
		layer := d.current.Load()
		if layer == LayerNone {
			layer = d.target.Load()
		}
		d.receiver.RequestKeyframe(int(layer))
	case *rtcp.TransportLayerNack:
		lim, now := d.nackLimiter(), time.Now().UnixNano()
		for _, pair := range p.Nacks {
			pair.Range(func(seq uint16) bool {
				d.nacks.Add(1)
				if d.allowRetransmit(lim, seq, now) { // bounded: see rtxlimit.go
					d.retransmit(seq)
				}
				return true
			})
		}
	case *rtcp.ReceiverReport:
		for _, r := range p.Reports {
			if r.SSRC == d.ssrc {
				d.recordReport(r)
			}
		}
	case *rtcp.ReceiverEstimatedMaximumBitrate:
		// The subscriber's own estimate: the budget's fallback without transport-wide feedback.
		d.recordREMB(p.Bitrate, time.Now())
	}
}

// recordReport keeps the subscriber's view of this track: loss, jitter and round-trip time
// (from the LSR/DLSR of the sender reports SenderReport makes).
func (d *DownTrack) recordReport(r rtcp.ReceptionReport) {
	d.fractionLost.Store(uint32(r.FractionLost))
	d.jitter.Store(r.Jitter)
	if r.LastSenderReport != 0 {
		now := rtpext.NTPCompact(time.Now())
		if rtt := now - r.LastSenderReport - r.Delay; rtt < 1<<20 { // < 16 s: otherwise clock nonsense
			d.rttMicros.Store(uint32(uint64(rtt) * 1_000_000 >> 16))
		}
	}
}

// SenderReport describes what this down track sent (RFC 3550 6.4.1), with the RTP time of now
// extrapolated from the last packet sent. ok is false before the first packet.
func (d *DownTrack) SenderReport(now time.Time) (sr rtcp.SenderReport, ok bool) {
	if !d.bound.Load() {
		return sr, false
	}
	d.mu.Lock()
	last, ts := d.lastArrival, d.lastTS
	d.mu.Unlock()
	if last == 0 {
		return sr, false
	}
	elapsed := max(now.UnixNano()-last, 0)
	// bytes counts a 12-byte header per packet; the report counts payload only. A packet being
	// counted right now may be in packets and not yet in bytes.
	packets, bytes := d.packets.Load(), d.bytes.Load()
	return rtcp.SenderReport{
		SSRC: d.ssrc, NTPTime: rtpext.NTPTime(now),
		RTPTime:     ts + uint32(uint64(elapsed)*uint64(d.clockRate)/uint64(time.Second)),
		PacketCount: uint32(packets), OctetCount: uint32(max(int64(bytes)-12*int64(packets), 0)),
	}, true
}

// retransmit answers a NACK from the publisher's packet cache, rewritten to this subscriber with
// the numbering in force when the packet was first sent.
func (d *DownTrack) retransmit(out uint16) {
	if !d.bound.Load() {
		return
	}
	e, ok := d.lookup(out)
	if !ok {
		return
	}
	cache := d.receiver.cache(int(e.layer))
	if cache == nil {
		return
	}
	n := cache.Get(e.src, d.rtxIn)
	if n == 0 || !d.receiver.parse(d.rtxIn[:n], &d.rtxPkt) {
		return
	}
	p := &d.rtxPkt
	vp8 := e.off.Apply(vp8Fields(&p.VP8))
	if d.send(&d.rtx, p, out, p.Header.Timestamp-e.off.TS, vp8, e.off) {
		d.retransmits.Add(1)
	}
}
