// Package stuntest is a STUN server for tests, on 127.0.0.1, that answers every binding
// request with the address it is told to, as a server past a NAT would see the client.
package stuntest

import (
	"net"
	"net/netip"

	"github.com/pion/stun/v4"
)

// Server answers binding requests until Close.
type Server struct {
	pc   net.PacketConn
	done chan struct{}
}

// Config is what the server answers.
type Config struct {
	Mapped netip.Addr // the address every answer gives, with the requester's port
	// Stray sends, before each answer, a success with another transaction id and another
	// address, which a client must ignore.
	Stray bool
}

// Start listens on a free port of 127.0.0.1.
func Start(cfg Config) (*Server, error) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{pc: pc, done: make(chan struct{})}
	go s.serve(cfg) // joined in Close
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.pc.LocalAddr().String() }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	err := s.pc.Close()
	<-s.done
	return err
}

func (s *Server) serve(cfg Config) {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if req.Decode() != nil || req.Type != stun.BindingRequest {
			continue
		}
		port := from.(*net.UDPAddr).Port
		if cfg.Stray {
			if m, err := stun.Build(stun.TransactionID, stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(192, 0, 2, 99), Port: port}); err == nil {
				_, _ = s.pc.WriteTo(m.Raw, from)
			}
		}
		m, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: cfg.Mapped.AsSlice(), Port: port}, stun.Fingerprint)
		if err == nil {
			_, _ = s.pc.WriteTo(m.Raw, from)
		}
	}
}
