package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplateOutAndCheck: --out writes the file, --check accepts it while
// fresh and fails (exit 1, "run make template") once it is stale.
func TestTemplateOutAndCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "template.yaml")
	ctx := context.Background()
	e, _, errb := testEnv(nil)
	if rc := run(ctx, e, []string{"template", "--out", path}); rc != 0 {
		t.Fatalf("template --out: exit %d: %s", rc, errb)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "Transform: AWS::Serverless-2016-10-31") {
		t.Fatalf("written template: %v %.200s", err, b)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temp file left behind: %v", err)
	}
	e, out, errb := testEnv(nil)
	if rc := run(ctx, e, []string{"template", "--check", "--out", path}); rc != 0 || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("check of a fresh file: exit %d: %s %s", rc, out, errb)
	}
	if err := os.WriteFile(path, append(b, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _, errb = testEnv(nil)
	if rc := run(ctx, e, []string{"template", "--check", "--out", path}); rc != 1 || !strings.Contains(errb.String(), "run make template") {
		t.Fatalf("check of a stale file: exit %d: %s", rc, errb)
	}
	e, _, _ = testEnv(nil)
	if rc := run(ctx, e, []string{"template", "--check", "--out", "-"}); rc != 1 {
		t.Fatalf("--check with --out -: exit %d, want 1", rc)
	}
}
