//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x || mips64 || mips64le || ppc64)

package sfu

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw system calls on the media sockets. net.UDPConn tells the Go scheduler each time it enters
// a system call, and the first to do so after the process was idle wakes the runtime's monitor
// thread (sysmon), which then polls every 20 µs until the process is idle again. In a small
// meeting every packet finds the process idle: those wake-ups were a quarter of the server's
// CPU (docs/benchmarks.md). The sockets are non-blocking, so recvfrom, sendto and sendmmsg
// never wait: a raw call holds its P only while the kernel works (a full sendmmsg batch of 64
// datagrams on loopback: under 260 µs, which BenchmarkForwardDirect measures for 64
// subscribers with the encryption; the longest the scheduler or a GC pause waits for it);
// when the socket is not ready, RawConn parks the goroutine on the netpoller exactly as
// net.UDPConn does.

// rawReader reads one socket; only one goroutine reads it.
type rawReader struct {
	raw     syscall.RawConn
	buf     []byte
	n       int
	from    unix.RawSockaddrAny
	fromLen uint32
	errno   syscall.Errno
	readFn  func(fd uintptr) bool // r.recv, bound once
}

func newRawReader(uc *net.UDPConn) *rawReader {
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{raw: raw}
	r.readFn = r.recv
	return r
}

// read is ReadFromUDPAddrPort with the sender's address unmapped.
func (r *rawReader) read(b []byte) (int, netip.AddrPort, error) {
	if len(b) == 0 {
		return 0, netip.AddrPort{}, nil
	}
	r.buf = b
	err := r.raw.Read(r.readFn)
	r.buf = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvfrom", r.errno)}
	}
	return r.n, sockaddrAddrPort(&r.from), nil
}

// recv is one recvfrom; false asks the runtime to wait until the socket is readable.
func (r *rawReader) recv(fd uintptr) bool {
	for {
		r.fromLen = unix.SizeofSockaddrAny
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)),
			0, uintptr(unsafe.Pointer(&r.from)), uintptr(unsafe.Pointer(&r.fromLen)))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// sockaddrAddrPort reads the address the kernel wrote; the media sockets are IPv4.
func sockaddrAddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// rawWriter sends single datagrams with sendto; any goroutine may write. An address that is
// not IPv4 goes through the net.UDPConn.
type rawWriter struct {
	uc    *net.UDPConn
	raw   syscall.RawConn
	sends sync.Pool // *rawSend: the arguments of one call, reused
}

type rawSend struct {
	b      []byte
	name   unix.RawSockaddrInet4
	n      int
	errno  syscall.Errno
	sendFn func(fd uintptr) bool // s.send, bound once
}

func newRawWriter(uc *net.UDPConn) udpWriter {
	raw, err := uc.SyscallConn()
	if err != nil {
		return uc
	}
	return &rawWriter{uc: uc, raw: raw}
}

func (w *rawWriter) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if !addr.Addr().Unmap().Is4() || len(b) == 0 {
		return w.uc.WriteToUDPAddrPort(b, addr)
	}
	s, _ := w.sends.Get().(*rawSend)
	if s == nil {
		s = &rawSend{}
		s.sendFn = s.send
	}
	s.b = b
	putSockaddr4(&s.name, addr) // batch_linux.go
	err := w.raw.Write(s.sendFn)
	n, errno := s.n, s.errno
	s.b = nil
	w.sends.Put(s)
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: os.NewSyscallError("sendto", errno)}
	}
	return n, nil
}

// send is one sendto; false asks the runtime to wait until the socket is writable.
func (s *rawSend) send(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&s.b[0])), uintptr(len(s.b)),
			0, uintptr(unsafe.Pointer(&s.name)), unix.SizeofSockaddrInet4)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.n, s.errno = int(n), e
		return true
	}
}
