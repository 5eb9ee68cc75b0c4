package feedback

import (
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
)

// InterceptorFactory gives every peer connection an Upstream, registered with the engine so that
// Podium's own read path finds it.
type InterceptorFactory struct {
	// OnNew is told each connection's Upstream (by the interceptor id pion gives it, the peer
	// connection's id).
	OnNew func(id string, u *Upstream)
}

func (f InterceptorFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	u := New()
	if f.OnNew != nil {
		f.OnNew(id, u)
	}
	return &upstreamInterceptor{u: u}, nil
}

// upstreamInterceptor feeds an Upstream from pion's read path.
type upstreamInterceptor struct {
	interceptor.NoOp
	u *Upstream
}

func (i *upstreamInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	i.u.mu.Lock()
	i.u.writer = w
	i.u.startLocked()
	i.u.mu.Unlock()
	return w
}

func (i *upstreamInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	i.u.AddStream(info.SSRC, info.ClockRate, extensionID(info, sdp.TransportCCURI))
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err == nil {
			i.u.OnRTP(b[:n], time.Now().UnixNano())
		}
		return n, attr, err
	})
}

func (i *upstreamInterceptor) UnbindRemoteStream(info *interceptor.StreamInfo) {
	i.u.removeStream(info.SSRC)
}

func (i *upstreamInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err == nil {
			i.u.OnRTCP(b[:n], time.Now().UnixNano()) // reads headers; locks only for a sender report
		}
		return n, attr, err
	})
}

func (i *upstreamInterceptor) Close() error { return i.u.Close() }

// extensionID is the id a stream negotiated for a header extension, 0 when none.
func extensionID(info *interceptor.StreamInfo, uri string) uint8 {
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == uri {
			return uint8(x.ID)
		}
	}
	return 0
}
