//go:build !linux

package main

import "os/exec"

// dieWithParent: only Linux kills children with their parent; elsewhere
// the test's cleanup kills them.
func dieWithParent(*exec.Cmd) {}
