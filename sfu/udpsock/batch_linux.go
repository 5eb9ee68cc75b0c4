//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x || mips64 || mips64le || ppc64)

package udpsock

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const batchSupported = true

// mmsghdr is struct mmsghdr of <sys/socket.h> on 64-bit Linux.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// sysBatch holds the sendmmsg arguments, reused for every batch: nothing is allocated per send.
type sysBatch struct {
	hdrs        [batchSize]mmsghdr
	iovs        [batchSize]unix.Iovec
	names       [batchSize]unix.RawSockaddrInet4
	start, end  int
	errno       syscall.Errno
	writeFn     func(fd uintptr) bool // s.write, bound once
	unsupported bool                  // the kernel has no sendmmsg
}

// send hands the datagrams to the kernel; false means they must go one by one (an IPv6
// address, or no sendmmsg).
func (s *sysBatch) send(raw syscall.RawConn, bufs [][]byte, addrs []netip.AddrPort) bool {
	if s.unsupported {
		return false
	}
	for i, a := range addrs {
		if !a.Addr().Is4() || len(bufs[i]) == 0 {
			return false
		}
		putSockaddr4(&s.names[i], a)
		s.iovs[i].Base = &bufs[i][0]
		s.iovs[i].SetLen(len(bufs[i]))
		h := &s.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
	}
	if s.writeFn == nil {
		s.writeFn = s.write
	}
	s.start, s.end = 0, len(addrs)
	for s.start < s.end {
		if err := raw.Write(s.writeFn); err != nil {
			break // the socket is closed
		}
		switch s.errno {
		case 0:
		case unix.ENOSYS: // only on the first call: send them one by one
			s.unsupported = true
			return false
		default:
			s.start++ // the kernel refused this datagram (as sendto would): go on with the rest
		}
	}
	for i := range addrs { // drop the references to the buffers
		s.iovs[i].Base = nil
	}
	return true
}

// putSockaddr4 writes an IPv4 address as the kernel reads it (port in network byte order).
func putSockaddr4(n *unix.RawSockaddrInet4, a netip.AddrPort) {
	n.Family = unix.AF_INET
	n.Addr = a.Addr().Unmap().As4()
	p := (*[2]byte)(unsafe.Pointer(&n.Port))
	p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
}

// write is one sendmmsg call, raw as rawsock_linux.go explains; false asks the runtime to wait
// until the socket is writable.
func (s *sysBatch) write(fd uintptr) bool {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[s.start])), uintptr(s.end-s.start), 0, 0, 0)
	for e == unix.EINTR {
		n, _, e = unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[s.start])), uintptr(s.end-s.start), 0, 0, 0)
	}
	if e == unix.EAGAIN {
		return false
	}
	s.errno = e
	if e == 0 {
		s.start += int(n)
	}
	return true
}
