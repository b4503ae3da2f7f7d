// Package outbound is the HTTP client of the webhooks (webhook.Transport):
// it posts only to https URLs whose host resolves to public addresses, and
// checks the address again when it connects (a DNS answer that changes
// between the registration and a delivery, or between the resolution and
// the connection, cannot point a delivery at the service's own network):
// the dialer resolves the host itself and connects to an allowed address
// by number. AllowPrivate (the embedded default's
// OPENAGG_WEBHOOKS_ALLOW_PRIVATE) also allows http and private, loopback
// and link-local addresses, for receivers on a developer's machine.
package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// Resolver resolves host names (net.DefaultResolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure the Client.
type Options struct {
	// AllowPrivate allows http URLs and non-public addresses.
	AllowPrivate bool
	// Timeout bounds one delivery, connection included (default 10 s).
	Timeout time.Duration
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver Resolver
	// TLS configures https (nil: the system's roots).
	TLS *tls.Config
}

// Client posts webhook deliveries under the outbound policy.
type Client struct {
	allowPrivate bool
	resolver     Resolver
	http         *http.Client
}

// New builds a Client.
func New(o Options) *Client {
	c := &Client{allowPrivate: o.AllowPrivate, resolver: o.Resolver}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		// No proxy from the environment: the policy is about where the
		// request goes.
		Proxy:                 nil,
		DialContext:           c.dial,
		TLSClientConfig:       o.TLS,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
	}
	c.http = &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		// A receiver answers; it does not send a delivery elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// Check refuses a URL the policy does not allow: not absolute http(s)
// (https only unless AllowPrivate), user info, or a host that does not
// resolve to allowed addresses only.
func (c *Client) Check(ctx context.Context, rawURL string) error {
	u, err := c.parse(rawURL)
	if err != nil {
		return err
	}
	if c.allowPrivate {
		return nil // any address: resolved when a delivery connects
	}
	addrs, err := c.resolve(ctx, u.Hostname())
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if !Public(a) {
			return fmt.Errorf("the host %s resolves to %s, which is not a public address", u.Hostname(), a)
		}
	}
	return nil
}

func (c *Client) parse(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("the url must be an absolute https URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.allowPrivate:
	default:
		return nil, errors.New("the url must use https")
	}
	if u.User != nil {
		return nil, errors.New("the url must not carry a user name or password")
	}
	if u.Fragment != "" {
		return nil, errors.New("the url must not have a fragment")
	}
	return u, nil
}

// resolve returns the addresses of host (a literal address as itself).
func (c *Client) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := c.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("the host %s does not resolve", host)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// dial connects to the first allowed address of the host, by number.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := c.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var last error
	for _, a := range addrs {
		if !c.allowPrivate && !Public(a) {
			last = fmt.Errorf("the host %s resolves to %s, which is not a public address", host, a)
			continue
		}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// Post sends one delivery and returns the receiver's status; the answer's
// body is read (up to 4 KB) and dropped.
func (c *Client) Post(ctx context.Context, rawURL string, header map[string]string, body []byte) (int, error) {
	if _, err := c.parse(rawURL); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build the request: %w", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, nil
}

// Non-public ranges that netip's predicates do not cover (IANA special
// purpose registries): shared address space (CGNAT), IETF protocol
// assignments, benchmarking, documentation, reserved, 6to4 relay anycast;
// IPv6 documentation, discard, NAT64 and Teredo/ORCHID blocks (NAT64
// addresses embed IPv4 ones that may be private).
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Public reports whether a is a globally routable unicast address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() || a.IsLinkLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
