//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x || mips64 || mips64le || ppc64)

package udpsock

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/podium-sfu/podium/internal/arrival"
)

// Raw system calls on the media sockets. net.UDPConn tells the Go scheduler each time it enters
// a system call, and the first to do so after the process was idle wakes the runtime's monitor
// thread (sysmon), which then polls until the process is idle again. In a small meeting every
// packet finds the process idle, and those wake-ups were a large share of the server's CPU
// (measured in docs/benchmarks.md). The sockets are non-blocking, so recvmsg, sendto and
// sendmmsg never wait: a raw call holds its P only while the kernel works (a full sendmmsg
// batch; BenchmarkForwardDirect measures it), the longest the scheduler or a GC pause waits
// for it; when the socket is not ready, RawConn parks the goroutine on the netpoller exactly
// as net.UDPConn does.

// Reader reads one socket; only one goroutine reads it. Each datagram comes with the
// kernel's time of its arrival (SO_TIMESTAMPNS): the feedback to publishers reports when their
// packets arrived, not when a reader busy with a fan-out got to them (milliseconds later, in a
// 25-person meeting: docs/benchmarks.md), which a publisher's delay-based estimator would read
// as a queue on its path.
type Reader struct {
	raw    syscall.RawConn
	msg    unix.Msghdr
	iov    unix.Iovec
	from   unix.RawSockaddrAny
	oob    [64]byte // one timestamp control message
	n      int
	at     int64 // unix ns of arrival; 0: the kernel did not say
	errno  syscall.Errno
	readFn func(fd uintptr) bool // r.recv, bound once
}

func NewReader(uc *net.UDPConn) *Reader {
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	arrival.Stamp(raw) // without stamps, packets are stamped as they are read
	r := &Reader{raw: raw}
	r.readFn = r.recv
	r.msg.Name = (*byte)(unsafe.Pointer(&r.from))
	r.msg.Iov = &r.iov
	r.msg.SetIovlen(1)
	r.msg.Control = &r.oob[0]
	return r
}

// Read is ReadFromUDPAddrPort with the sender's address unmapped, and the datagram's time of
// arrival (unix ns; 0 when the kernel did not stamp it).
func (r *Reader) Read(b []byte) (int, netip.AddrPort, int64, error) {
	if len(b) == 0 {
		return 0, netip.AddrPort{}, 0, nil
	}
	r.iov.Base = &b[0]
	r.iov.SetLen(len(b))
	err := r.raw.Read(r.readFn)
	r.iov.Base = nil
	if err != nil {
		return 0, netip.AddrPort{}, 0, err
	}
	if r.errno != 0 {
		return 0, netip.AddrPort{}, 0, &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvmsg", r.errno)}
	}
	return r.n, sockaddrAddrPort(&r.from), r.at, nil
}

// recv is one recvmsg; false asks the runtime to wait until the socket is readable.
func (r *Reader) recv(fd uintptr) bool {
	for {
		r.msg.Namelen = unix.SizeofSockaddrAny
		r.msg.SetControllen(len(r.oob))
		r.msg.Flags = 0
		n, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.n, r.errno, r.at = int(n), e, 0
		if e == 0 {
			r.at, _ = arrival.Read(r.oob[:r.msg.Controllen])
		}
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

func NewWriter(uc *net.UDPConn) Writer {
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
