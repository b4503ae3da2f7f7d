package platform

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestREADMEConfigTable keeps the README's configuration table true: every
// variable LoadConfig reads is documented, every documented variable is
// read, and the documented defaults are the ones an empty environment gets.
func TestREADMEConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{} // variable → default column
	var table strings.Builder
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		table.WriteString(line + "\n")
		cols := strings.Split(line, "|")
		if len(cols) < 4 {
			t.Fatalf("malformed row %q", line)
		}
		rows[strings.Trim(strings.TrimSpace(cols[1]), "`")] = strings.TrimSpace(cols[2])
	}
	if len(rows) == 0 {
		t.Fatal("no rows in the README configuration table")
	}

	// Every branch that reads a variable: the defaults, then AWS drivers
	// with SQS and Salt Edge.
	asked := map[string]bool{}
	for _, env := range []map[string]string{
		{},
		{"OPENAGG_STORE": "dynamo", "OPENAGG_PROVIDERS": "saltedge", "OPENAGG_PAGE_TOKEN_SECRET": "x", "OPENAGG_CREDENTIALS_KEY": "x",
			"OPENAGG_LOG_LEVEL": "x", "OPENAGG_REFRESH_INTERVAL": "x"},
	} {
		_, _ = LoadConfig(func(k string) string {
			asked[k] = true
			return env[k]
		})
	}
	for name := range asked {
		if !strings.Contains(table.String(), "`"+name+"`") {
			t.Errorf("LoadConfig reads %s, the README table does not document it", name)
		}
	}
	for name := range rows {
		if !asked[name] {
			t.Errorf("the README documents %s, LoadConfig never reads it", name)
		}
	}

	c, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.RefreshInterval != time.Minute || c.ConnectSettleAfter != time.Minute || c.LogLevel.String() != "INFO" || !slices.Equal(c.Providers, []string{ProviderSandbox}) {
		t.Fatalf("defaults changed: refresh %s, settle %s, log level %s, providers %v: update this test and the README", c.RefreshInterval, c.ConnectSettleAfter, c.LogLevel, c.Providers)
	}
	defaults := map[string]string{
		"OPENAGG_ADDR":                   c.Addr,
		"OPENAGG_DATA_DIR":               c.DataDir,
		"OPENAGG_STORE":                  c.Store,
		"OPENAGG_TABLE":                  c.Table,
		"AWS_REGION":                     c.Region,
		"OPENAGG_QUEUE":                  c.Queue,
		"OPENAGG_PROVIDERS":              c.Providers[0],
		"OPENAGG_COMPANY_ID":             c.CompanyID,
		"OPENAGG_APP_NAME":               c.AppName,
		"OPENAGG_PUBLIC_URL":             c.PublicURL,
		"OPENAGG_JWT_ISSUER":             c.JWTIssuer,
		"OPENAGG_JWT_AUDIENCE":           c.JWTAudience,
		"OPENAGG_LOG_LEVEL":              "info",
		"OPENAGG_REFRESH_INTERVAL":       "1m",
		"OPENAGG_CONNECT_SETTLE_AFTER":   "1m",
		"SALTEDGE_BASE_URL":              c.SaltEdge.BaseURL,
		"SALTEDGE_INCLUDE_SANDBOXES":     strconv.FormatBool(c.SaltEdge.IncludeSandboxes),
		"OPENAGG_WEBHOOKS_ALLOW_PRIVATE": strconv.FormatBool(c.WebhooksAllowPrivate),
	}
	for name, want := range defaults {
		if got, ok := rows[name]; !ok || !strings.Contains(got, "`"+want+"`") {
			t.Errorf("%s: README default %q, the code's is %q", name, got, want)
		}
	}
	// The rest have no fixed default: the README says what happens instead.
	for name, got := range rows {
		if _, fixed := defaults[name]; !fixed && got != "—" && !strings.HasPrefix(got, "— ") &&
			!strings.Contains(got, "derived") && !strings.Contains(got, "generated") {
			t.Errorf("%s: README default %q, but the code has no fixed default", name, got)
		}
	}
}

// TestREADMEMakeTargets keeps the README's make targets table true: every
// target the Makefile documents (a "## " comment) has its row, and every
// row names a target.
func TestREADMEMakeTargets(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Make targets\n")
	if !ok {
		t.Fatal("README has no ## Make targets section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]bool{}
	for line := range strings.SplitSeq(section, "\n") {
		if rest, ok := strings.CutPrefix(line, "| `make "); ok {
			name, _, _ := strings.Cut(rest, "`")
			name, _, _ = strings.Cut(name, " ")
			documented[name] = true
		}
	}
	targets := map[string]bool{}
	for line := range strings.SplitSeq(string(makefile), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if ok && strings.Contains(rest, "## ") && !strings.ContainsAny(name, " \t$") {
			targets[name] = true
		}
	}
	for name := range targets {
		if !documented[name] {
			t.Errorf("make %s is not in the README's make targets table", name)
		}
	}
	for name := range documented {
		if !targets[name] {
			t.Errorf("the README documents make %s, which the Makefile does not have", name)
		}
	}
}
