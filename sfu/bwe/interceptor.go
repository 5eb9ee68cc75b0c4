package sfu

import (
	"time"

	"github.com/pion/interceptor"

	"github.com/podium-sfu/podium/internal/rtpext"
)

// bweInterceptorFactory gives every peer connection a send-side estimator. Unlike pion's cc
// interceptor it neither copies nor parses every RTCP packet the subscriber sends: it looks at
// the compound packet's headers and parses only transport-wide feedback (the down track's RTCP
// reader parses the rest anyway).
type bweInterceptorFactory struct {
	newEstimator func() *sendSideEstimator
	onNew        func(id string, est *sendSideEstimator)
}

func (f *bweInterceptorFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	est := f.newEstimator()
	if f.onNew != nil {
		f.onNew(id, est)
	}
	return &bweInterceptor{est: est}, nil
}

type bweInterceptor struct {
	interceptor.NoOp
	est *sendSideEstimator
}

func (i *bweInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return i.est.AddStream(info, w)
}

func (i *bweInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err == nil {
			i.feedback(b[:n])
		}
		return n, attr, err
	})
}

// feedback finds transport-wide feedback in a compound RTCP packet and hands it on.
func (i *bweInterceptor) feedback(b []byte) {
	for part, rest, ok := rtpext.SplitRTCP(b); ok; part, rest, ok = rtpext.SplitRTCP(rest) {
		if rtpext.IsTWCC(part) {
			i.est.onReport(time.Now(), part)
		}
	}
}

func (i *bweInterceptor) Close() error { return i.est.Close() }
