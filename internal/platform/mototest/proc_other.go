//go:build !linux

package mototest

import "os/exec"

// dieWithParent: elsewhere only Run's cleanup stops moto_server.
func dieWithParent(*exec.Cmd) {}
