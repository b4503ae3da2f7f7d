package mototest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMotoDiesWithItsTestBinary runs this test binary again as a child that
// starts moto_server and then gets killed (no cleanup runs), and checks that
// moto_server stops answering.
func TestMotoDiesWithItsTestBinary(t *testing.T) {
	if os.Getenv("MOTOTEST_CHILD") == "1" {
		fmt.Printf("endpoint %s\n", Endpoint(t))
		time.Sleep(time.Minute) // killed by the parent long before
		return
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		Endpoint(t) // skips, or fails under CI=true
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(exe, "-test.run", "^TestMotoDiesWithItsTestBinary$")
	child.Env = append(os.Environ(), "MOTOTEST_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var endpoint string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if e, ok := strings.CutPrefix(sc.Text(), "endpoint "); ok {
			endpoint = e
			break
		}
	}
	if endpoint == "" {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatal("child did not report a moto endpoint")
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err != nil {
			return // gone
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("moto_server at %s still answers after its test binary was killed", endpoint)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
