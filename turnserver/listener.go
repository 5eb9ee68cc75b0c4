package turnserver

import (
	"net"
	"time"
)

// idleListener gives every accepted connection read deadlines: pion's TURN server reads a TCP
// connection until it fails, so a client that connects and says nothing (or stalls in the TLS
// handshake) would hold a descriptor and a goroutine for good.
type idleListener struct {
	net.Listener
	first, idle time.Duration
}

func (l idleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, wait: l.first, idle: l.idle}, nil
}

// idleConn fails a read that waits longer than wait: first for the first byte, then idle
// between reads. Reads come from one goroutine (pion's per-connection loop).
type idleConn struct {
	net.Conn
	wait, idle time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(c.wait)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.wait = c.idle
	}
	return n, err
}
