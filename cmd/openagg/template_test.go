package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openagg/openagg/internal/openapi"
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

// TestOpenAPIFiles: openagg openapi writes each document as served.
func TestOpenAPIFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e, out, errb := testEnv(nil)
	if rc := run(ctx, e, []string{"openapi", "--out", dir}); rc != 0 {
		t.Fatalf("openapi --out: exit %d: %s", rc, errb)
	}
	for _, name := range openapi.Names() {
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		want, werr := openapi.JSON(name)
		if err != nil || werr != nil || string(b) != string(want) {
			t.Fatalf("%s: %v %v", name, err, werr)
		}
	}
	if n := strings.Count(out.String(), "wrote "); n != len(openapi.Names()) {
		t.Fatalf("output: %s", out)
	}
	e, out, _ = testEnv(nil)
	if rc := run(ctx, e, []string{"openapi", "--name", "finapi"}); rc != 0 || !strings.Contains(out.String(), `"openapi": "3.0.3"`) {
		t.Fatalf("openapi --name finapi: exit %d: %.200s", rc, out)
	}
	e, _, _ = testEnv(nil)
	if rc := run(ctx, e, []string{"openapi", "--name", "nope"}); rc != 1 {
		t.Fatalf("unknown document: exit %d, want 1", rc)
	}
}
