package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills a child serve process when the test binary dies, so
// that no server outlives a test run that crashed.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
