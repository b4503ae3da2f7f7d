// Package sandbox is the embedded default bank-data provider: a deterministic
// fake bank system with the shape of Salt Edge AIS v5, so every flow of
// OpenAgg can be tried without credentials or network.
//
// It plays the "outside" system, yet it must run in Lambda as well as in the
// local binary, so its state (customers, connect sessions, connections) lives
// in the store under keys prefixed SBX# rather than in memory:
//
//	customer          PK=SBX#CUS#<customerID>  SK=#CUSTOMER
//	customer's conn   PK=SBX#CUS#<customerID>  SK=CON#<connectionID>   (immutable index item)
//	connection        PK=SBX#CON#<connectionID> SK=#CONNECTION        (versioned)
//	connect session   PK=SBX#SES#<sha256(token)> SK=#SESSION          (versioned, TTL)
//
// Accounts and transactions are not stored at all: they are generated on
// demand from a seeded PRNG keyed by (Options.Seed, customer identifier, bank
// code, account, day), so the same customer at the same bank sees the same
// ids and amounts on every run and on every machine, and a page of
// transactions is generated from its cursor without materialising the
// history (see data.go for the rules).
//
// The hosted connect page drives a session through Session, SubmitLogin,
// SubmitChallenge and Cancel. Sandbox credentials: any non-empty username with the
// password "secret"; the challenge bank then asks for the code "123456".
package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/openagg/openagg/internal/platform"
	"github.com/openagg/openagg/internal/provider"
	"github.com/openagg/openagg/internal/store"
)

// Name is the provider's name on the wire.
const Name = "sandbox"

// Credentials accepted by every sandbox bank (documented for the connect page
// and for humans trying the flow).
const (
	// Password is the only password a sandbox bank accepts (any non-empty
	// username).
	Password = "secret"
	// ChallengeAnswer completes the challenge of an interactive bank.
	ChallengeAnswer = "123456"
)

// Session errors returned by Session, SubmitLogin and SubmitChallenge.
var (
	ErrSessionNotFound = errors.New("sandbox: connect session not found")
	ErrSessionExpired  = errors.New("sandbox: connect session expired")
	// ErrSessionUsed: the session is over (done, failed after its last
	// try, or cancelled); its link cannot be used again.
	ErrSessionUsed = errors.New("sandbox: connect session already used")
	// ErrWrongStage: the submit does not match the session's stage (a
	// challenge answer while the session waits for a login, or the other
	// way round), e.g. because a concurrent submit moved it on.
	ErrWrongStage = errors.New("sandbox: connect session is at another stage")
)

// Options configures New. Zero values get the documented defaults.
type Options struct {
	// Clock tells the time; default platform.SystemClock.
	Clock platform.Clock
	// PublicURL is OpenAgg's public base URL; connect URLs are
	// <PublicURL>/connect/sessions?token=<token>. Empty: the base URL of
	// the request that creates the session (platform.BaseURL).
	PublicURL string
	// Seed varies every generated id and amount; the same seed gives the
	// same data.
	Seed uint64
	// SlowDelay is how long the slow bank takes per fetch (refresh, accounts,
	// each page of transactions); default 2 s.
	SlowDelay time.Duration
	// SessionTTL is how long a connect session stays usable; default 1 h.
	SessionTTL time.Duration
	// Hidden lists bank codes left out of the directory, to simulate a bank
	// the provider stopped listing: it cannot be connected any more and its
	// existing connections report status "disabled".
	Hidden []string
}

// Provider is the sandbox implementation of provider.Provider.
type Provider struct {
	st        store.Store
	clock     platform.Clock
	publicURL string
	seed      string
	slow      time.Duration
	ttl       time.Duration
	hidden    map[string]bool
	banks     []bankDef // directory order
	byCode    map[string]*bankDef
	sums      *sumCache
}

var _ provider.Provider = (*Provider)(nil)

// New returns a sandbox provider keeping its state in st.
func New(st store.Store, opts Options) *Provider {
	p := &Provider{
		st:        st,
		clock:     opts.Clock,
		publicURL: trimSlash(opts.PublicURL),
		seed:      strconv.FormatUint(opts.Seed, 10),
		slow:      opts.SlowDelay,
		ttl:       opts.SessionTTL,
		hidden:    map[string]bool{},
		sums:      newSumCache(),
	}
	if p.clock == nil {
		p.clock = platform.SystemClock{}
	}
	if p.slow <= 0 {
		p.slow = 2 * time.Second
	}
	if p.ttl <= 0 {
		p.ttl = time.Hour
	}
	for _, c := range opts.Hidden {
		p.hidden[c] = true
	}
	p.banks = directory()
	p.byCode = make(map[string]*bankDef, len(p.banks))
	for i := range p.banks {
		p.byCode[p.banks[i].Code] = &p.banks[i]
	}
	return p
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return Name }

func (p *Provider) now() time.Time { return p.clock.Now().UTC() }

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Store keys: the only place these strings are built.

const keyPrefix = "SBX#"

func customerKey(id string) store.Key {
	return store.Key{PK: keyPrefix + "CUS#" + id, SK: "#CUSTOMER"}
}

func customerConnKey(customerID, connID string) store.Key {
	return store.Key{PK: keyPrefix + "CUS#" + customerID, SK: custConnPrefix + connID}
}

const custConnPrefix = "CON#"

func connectionKey(id string) store.Key {
	return store.Key{PK: keyPrefix + "CON#" + id, SK: "#CONNECTION"}
}

// sessionKey is the key of the session whose token has SHA-256 tokenHash
// (hex): the token itself is never stored.
func sessionKey(tokenHash string) store.Key {
	return store.Key{PK: keyPrefix + "SES#" + tokenHash, SK: "#SESSION"}
}

// hash64 derives a stable 64-bit value from the seed and parts; it is the
// root of every id and PRNG seed, so data never depends on wall-clock
// randomness.
func (p *Provider) hash64(parts ...string) uint64 {
	h := sha256.New()
	h.Write([]byte(p.seed))
	for _, s := range parts {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0])[:8])
}

// digits renders h as an n-digit decimal id without a leading zero, the
// shape of Salt Edge ids (n ≤ 19).
func digits(h uint64, n int) string {
	lo := uint64(1)
	for i := 1; i < n; i++ {
		lo *= 10
	}
	return strconv.FormatUint(lo+h%(9*lo), 10)
}

// delay waits d unless ctx ends first (the slow bank).
func delay(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, ctx.Err())
	}
}

// sumCache keeps, per account, prefix sums of whole days at checkpoints so a
// page of transactions can start its running balance without re-summing the
// history. Entries are pure functions of the account seed, so the cache is
// only an optimisation and safe to drop; it is bounded.
type sumCache struct {
	mu sync.Mutex
	m  map[uint64][]int64
}

const sumCacheMax = 1024

func newSumCache() *sumCache { return &sumCache{m: map[uint64][]int64{}} }
