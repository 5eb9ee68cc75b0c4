//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x || mips64 || mips64le || ppc64))

package udpsock

import (
	"net/netip"
	"syscall"
)

const batchSupported = false

type sysBatch struct{}

func (sysBatch) send(syscall.RawConn, [][]byte, []netip.AddrPort) bool { return false }
