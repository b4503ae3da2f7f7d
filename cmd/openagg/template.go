package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openagg/openagg/internal/app"
)

// templateCmd writes template.yaml: the SAM skeleton with each function's
// HttpApi events taken from the route tables of the groups it serves, so
// the template and the handlers cannot disagree. By default it writes the
// repository's template.yaml; --out - prints it; --check only compares and
// fails when the file is stale (CI, pre-commit).
func templateCmd(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "", "file to write, - for stdout (default: template.yaml at the repository root)")
	check := fs.Bool("check", false, "do not write: exit 1 if the file differs from a fresh render")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	rendered, err := app.Template(ctx)
	if err != nil {
		return err
	}
	if *out == "-" {
		if *check {
			return errors.New("--check needs a file, not --out -")
		}
		_, err = e.stdout.Write(rendered)
		return err
	}
	path := *out
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return fmt.Errorf("%w (or pass --out FILE)", err)
		}
		path = filepath.Join(root, "template.yaml")
	}
	if *check {
		cur, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("check %s: %w: run make template", path, err)
		}
		if !bytes.Equal(cur, rendered) {
			return fmt.Errorf("%s is stale (it differs from the route tables): run make template", path)
		}
		fmt.Fprintf(e.stdout, "%s is up to date\n", path)
		return nil
	}
	// Write a sibling temp file and rename it, so a failed write never
	// leaves a half template behind.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, rendered, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", path)
	return nil
}

// modulePath identifies the repository's go.mod.
const modulePath = "github.com/openagg/openagg"

// repoRoot is the nearest directory at or above the working directory
// whose go.mod declares this module.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(string(b)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the %s repository", modulePath)
		}
		dir = parent
	}
}

func declaresModule(gomod string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == modulePath
		}
	}
	return false
}
