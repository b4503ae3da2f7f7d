// Package mototest starts a real moto_server (DynamoDB and SQS protocols) on
// a free loopback port for the tests of one package binary.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }
//
// and call Endpoint(t) in each test that needs AWS. Without moto_server on
// PATH the test is skipped with a loud message, except under CI=true where
// a missing server is a failure.
package mototest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// server is per test binary: one moto for all tests of a package.
var server struct {
	once     sync.Once
	cmd      *exec.Cmd
	endpoint string
	err      error
}

// Run runs the package's tests and stops moto afterwards.
func Run(m *testing.M) int {
	code := m.Run()
	if server.cmd != nil && server.cmd.Process != nil {
		_ = server.cmd.Process.Kill()
		_ = server.cmd.Wait()
	}
	return code
}

// Endpoint returns the base URL of a running moto_server, starting it on
// first use. It also sets fake AWS credentials and region for the SDK.
func Endpoint(t testing.TB) string {
	t.Helper()
	server.once.Do(start)
	if server.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server is required under CI=true: %v", server.err)
		}
		t.Skipf("SKIPPING AWS DRIVER TEST: moto_server not available (%v); install it with `pip install 'moto[server]'`", server.err)
	}
	return server.endpoint
}

func start() {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		server.err = fmt.Errorf("moto_server not on PATH: %w", err)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		server.err = fmt.Errorf("find free port: %w", err)
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	dieWithParent(cmd)
	if os.Getenv("MOTO_VERBOSE") == "" {
		cmd.Stdout, cmd.Stderr = nil, nil
	} else {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		server.err = fmt.Errorf("start moto_server: %w", err)
		return
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			server.err = fmt.Errorf("moto_server did not answer on %s within 30s: %w", endpoint, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	fmt.Fprintf(os.Stderr, "mototest: %s runs against moto_server at %s\n", filepath.Base(os.Args[0]), endpoint)
	server.cmd, server.endpoint = cmd, endpoint
}
