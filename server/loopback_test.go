package server

import "github.com/podium-sfu/podium/sfu"

func sfuLoopback() sfu.Config { return sfu.Config{LoopbackOnly: true} }
