package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
)

// lazyStart delays an interceptor's RTCP writer, and with it the ticker goroutine pion's NACK
// generator, TWCC feedback and receiver reports start there, until the connection receives its
// first stream. Most connections never do (every subscriber connection, and the publisher
// connection of who only watches), and each idle ticker woke the server tens of times a second
// per connection: about a microsecond per forwarded packet at 50 participants.
type lazyStart struct {
	interceptor.Interceptor
	mu      sync.Mutex
	writer  interceptor.RTCPWriter
	started atomic.Bool
}

type lazyFactory struct{ inner interceptor.Factory }

func (f lazyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.inner.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &lazyStart{Interceptor: i}, nil
}

// lazily wraps the interceptors of a factory.
func lazily(f interceptor.Factory) interceptor.Factory { return lazyFactory{f} }

// BindRTCPWriter keeps the writer for later; the interceptors wrapped here return it unchanged.
func (l *lazyStart) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	l.writer = w
	l.mu.Unlock()
	return w
}

// BindRTCPReader skips the wrapped reader until the interceptor started: pion's receiver
// reports parse every RTCP packet looking for sender reports, which only publishers send.
func (l *lazyStart) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	inner := l.Interceptor.BindRTCPReader(r)
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if l.started.Load() {
			return inner.Read(b, a)
		}
		return r.Read(b, a)
	})
}

func (l *lazyStart) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	l.mu.Lock()
	if !l.started.Load() && l.writer != nil {
		l.Interceptor.BindRTCPWriter(l.writer)
		l.started.Store(true)
	}
	l.mu.Unlock()
	return l.Interceptor.BindRemoteStream(info, r)
}
