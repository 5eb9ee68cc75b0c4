package bwe

import (
	"time"

	"github.com/pion/interceptor"
)

// InterceptorFactory gives every peer connection a send-side estimator. Unlike pion's cc
// interceptor it neither copies nor parses every RTCP packet the subscriber sends: it looks at
// the compound packet's headers and parses only transport-wide feedback (the down track's RTCP
// reader parses the rest anyway).
type InterceptorFactory struct {
	NewEstimator func() *Estimator
	// OnNew is told each connection's estimator (by the interceptor id pion gives it, the
	// peer connection's id).
	OnNew func(id string, est *Estimator)
}

func (f *InterceptorFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	est := f.NewEstimator()
	if f.OnNew != nil {
		f.OnNew(id, est)
	}
	return &bweInterceptor{est: est}, nil
}

type bweInterceptor struct {
	interceptor.NoOp
	est *Estimator
}

func (i *bweInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return i.est.AddStream(info, w)
}

func (i *bweInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err == nil {
			i.est.OnRTCP(time.Now(), b[:n])
		}
		return n, attr, err
	})
}

func (i *bweInterceptor) Close() error { return i.est.Close() }
