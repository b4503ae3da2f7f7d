package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openagg/openagg/internal/webhook/outbound"
)

func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"93.184.215.14", true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"8.8.8.8", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},      // shared address space
		{"0.0.0.0", false},
		{"255.255.255.255", false},
		{"224.0.0.1", false},
		{"198.18.0.1", false},
		{"192.0.2.1", false},
		{"::1", false},
		{"::", false},
		{"fe80::1", false},
		{"fd00::1", false},
		{"ff02::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"2001:db8::1", false},
		{"2002:a00:1::", false}, // 6to4 of 10.0.0.1
	} {
		if got := outbound.Public(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("Public(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
}

// resolver answers fixed addresses per host; flip makes a host's answer
// change after its first lookup (DNS rebinding).
type resolver struct {
	hosts map[string][]string
	flip  map[string][]string
	seen  map[string]int
}

func (r *resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if r.seen == nil {
		r.seen = map[string]int{}
	}
	r.seen[host]++
	list, ok := r.hosts[host]
	if f, flips := r.flip[host]; flips && r.seen[host] > 1 {
		list = f
	}
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, s := range list {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestCheck(t *testing.T) {
	r := &resolver{hosts: map[string][]string{
		"hooks.example.com": {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"internal.example":  {"10.0.0.7"},
		"mixed.example":     {"93.184.215.14", "192.168.0.2"},
		"localhost":         {"127.0.0.1"},
	}}
	strict := outbound.New(outbound.Options{Resolver: r})
	lax := outbound.New(outbound.Options{Resolver: r, AllowPrivate: true})
	for _, tc := range []struct {
		url           string
		strict, local bool // allowed
	}{
		{"https://hooks.example.com/openagg", true, true},
		{"https://hooks.example.com:8443/openagg?x=1", true, true},
		{"http://hooks.example.com/openagg", false, true},
		{"https://internal.example/hooks", false, true},
		{"https://mixed.example/hooks", false, true},
		{"https://localhost/hooks", false, true},
		{"https://127.0.0.1/hooks", false, true},
		{"https://[::1]/hooks", false, true},
		{"https://169.254.169.254/latest/meta-data", false, true},
		{"https://unknown.example/hooks", false, true},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https://hooks.example.com/#frag", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"hooks.example.com/openagg", false, false},
		{"https:///openagg", false, false},
		{"mailto:ops@example.com", false, false},
	} {
		if err := strict.Check(t.Context(), tc.url); (err == nil) != tc.strict {
			t.Errorf("strict Check(%s) = %v, want allowed %v", tc.url, err, tc.strict)
		}
		if err := lax.Check(t.Context(), tc.url); (err == nil) != tc.local {
			t.Errorf("allow-private Check(%s) = %v, want allowed %v", tc.url, err, tc.local)
		}
	}
}

// A host that resolved to a public address when registered and resolves
// to a private one when a delivery connects is refused at the connection:
// nothing reaches the private address.
func TestPostChecksTheAddressItConnectsTo(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("webhook-id") != "msg_1" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	r := &resolver{
		hosts: map[string][]string{"rebind.example": {"93.184.215.14"}},
		flip:  map[string][]string{"rebind.example": {"127.0.0.1"}},
	}
	strict := outbound.New(outbound.Options{Resolver: r})
	if err := strict.Check(t.Context(), "https://rebind.example:"+port+"/hooks"); err != nil {
		t.Fatalf("registration: %v", err)
	}
	// The policy of Post itself: no http without AllowPrivate.
	if _, err := strict.Post(t.Context(), "http://rebind.example:"+port+"/hooks", nil, []byte(`{}`)); err == nil {
		t.Fatal("an http delivery went out")
	}
	_, err := strict.Post(t.Context(), "https://rebind.example:"+port+"/hooks", nil, []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("a delivery to a rebound host: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the private address was reached")
	}

	// With AllowPrivate the same receiver gets it, redirects are not followed.
	lax := outbound.New(outbound.Options{Resolver: &resolver{hosts: map[string][]string{"dev.local": {"127.0.0.1"}}}, AllowPrivate: true})
	status, err := lax.Post(t.Context(), "http://dev.local:"+port+"/hooks", map[string]string{"webhook-id": "msg_1"}, []byte(`{}`))
	if err != nil || status != http.StatusNoContent || hits.Load() != 1 {
		t.Fatalf("allow-private delivery: %d %v (%d hits)", status, err, hits.Load())
	}
	redirect := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	status, err = lax.Post(t.Context(), redirect.URL, map[string]string{"webhook-id": "msg_1"}, []byte(`{}`))
	if err != nil || status != http.StatusTemporaryRedirect || hits.Load() != 1 {
		t.Fatalf("a redirect: %d %v (%d hits)", status, err, hits.Load())
	}
}
