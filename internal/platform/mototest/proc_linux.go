package mototest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill moto_server when the test binary dies
// without reaching Run's cleanup (a -timeout panic, a failed test's panic,
// a kill), so no server outlives its tests. The signal follows the forking
// OS thread, which the Go runtime keeps for the life of the process.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
