package holdings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openagg/openagg/internal/store"
)

// The change log of a party's transactions: what GET
// /holdings/profiles/{partyid}/transactions/sync reads (Service.Sync).
//
// Layout (docs/data-model.md, "Transaction sync"):
//
//	counter  PK=SYNC#<party>  SK=#SEQ                  Version = the last commit's sequence number
//	chunk    PK=SYNC#<party>  SK=<seq, 12 digits>#<n, 4 digits>   up to 64 KB of entries of commit <seq>
//	digests  PK=ACC#<acc>     SK=SYNC#D#<yyyy-mm>[#<part>]        what the log has told of the account's
//	                                                              transactions of that value-date month
//
// A commit is ONE store transaction: the counter (version-guarded: commits
// of a party are numbered 1, 2, 3... without gaps and each becomes visible
// only after the one before it), the chunks of its entries (put with the
// commit's number in their key) and the digest buckets it changes
// (version-guarded). So the log is a sequence of whole commits, read in key
// order, and a cursor (commit, chunk, entry) taken at any moment never
// sees a commit appear behind it: nothing is missed or read twice, however
// many imports and removals of the party's connections commit at once.
//
// The digest buckets are the log's memory: for every transaction the log
// has announced and not removed, its id and a digest of the item as
// announced. An import compares each transaction it writes against them
// (added: unknown; modified: another digest; unchanged: nothing logged), a
// removal announces exactly what they hold, and because a commit changes
// them in the same transaction as it appends entries, a retried or
// concurrent writer that lost a race re-reads them and logs only what is
// still new. Buckets by value-date month keep a write chunk's lookups to a
// few items (providers list transactions by date); a month of more than
// maxPartBytes of digests continues in further parts.
//
// Removing an account leaves nothing of its transactions' data: the
// entries that announced them (added, modified) are redacted in place to
// markers without data, newest first, and then the removal is announced
// (removal notices: ids only). Each digest entry keeps where its
// transaction was announced (its add entry) and each removal notice says
// it, so a reader knows whether its client got the transaction before the
// redaction (it then tells the removal) or met the marker (it then says
// nothing): see Service.Sync.

const (
	syncSeqSK = "#SEQ"
	// DigestSKPrefix starts the sort keys of an account's digest buckets.
	DigestSKPrefix = "SYNC#D#"

	// maxChunkBytes bounds the entries of one chunk item; maxPartBytes the
	// digests of one bucket part (both well under the 400 KB item limit).
	maxChunkBytes = 64 << 10
	maxPartBytes  = 300 << 10
	// A commit transaction holds the counter, its chunks and the bucket
	// parts it writes: at most commitMaxOps of DynamoDB's 100 and
	// commitMaxBytes of its 4 MB.
	commitMaxOps   = 90
	commitMaxBytes = 3 << 20
	// commitAttempts bounds the retries of one change set against
	// concurrent commits of the same party (counter) or account (buckets).
	commitAttempts = 25
)

// SyncPK is the partition of a party's change log.
func SyncPK(partyID string) string { return "SYNC#" + partyID }

func syncSeqKey(partyID string) store.Key { return store.Key{PK: SyncPK(partyID), SK: syncSeqSK} }

// syncChunkSK is the sort key of chunk n of commit seq: fixed width, so
// that key order is commit order.
func syncChunkSK(seq int64, n int) string { return fmt.Sprintf("%012d#%04d", seq, n) }

func parseChunkSK(sk string) (seq int64, n int, ok bool) {
	a, b, found := strings.Cut(sk, "#")
	if !found || len(a) != 12 || len(b) != 4 {
		return 0, 0, false
	}
	s, err1 := strconv.ParseInt(a, 10, 64)
	c, err2 := strconv.Atoi(b)
	return s, c, err1 == nil && err2 == nil
}

func digestSK(month string, part int) string {
	if part == 0 {
		return DigestSKPrefix + month
	}
	return DigestSKPrefix + month + "#" + strconv.Itoa(part)
}

func parseDigestSK(sk string) (month string, part int, ok bool) {
	rest, found := strings.CutPrefix(sk, DigestSKPrefix)
	if !found {
		return "", 0, false
	}
	m, p, hasPart := strings.Cut(rest, "#")
	if !hasPart {
		return m, 0, true
	}
	n, err := strconv.Atoi(p)
	return m, n, err == nil && n > 0
}

// txMonth is the digest bucket of a transaction: its value-date month.
func txMonth(madeOn time.Time) string {
	if madeOn.IsZero() {
		return "0000-00"
	}
	return madeOn.UTC().Format("2006-01")
}

// digest identifies a transaction item's content (8 bytes of SHA-256 of
// its stored bytes: a change is missed with probability 2^-64).
type digest [8]byte

func digestOf(data []byte) digest {
	sum := sha256.Sum256(data)
	var d digest
	copy(d[:], sum[:8])
	return d
}

// Operations of log entries.
const (
	opAdded    = "a"
	opModified = "m"
	opRemoved  = "r"
	// opRedacted replaces an added or modified entry of a removed account.
	opRedacted = "x"
	// opAccountGone ends the removal of an account (its last commit).
	opAccountGone = "z"
)

// logEntry is one change: a transaction added or modified (Tx, the item's
// data as stored), removed (Add: where it was announced), or a redacted
// entry of a removed account (ids only).
type logEntry struct {
	Op        string          `json:"o"`
	AccountID string          `json:"a"`
	ID        string          `json:"i,omitempty"`
	Tx        json.RawMessage `json:"t,omitempty"`
	Add       *logPos         `json:"p,omitempty"`
}

// logPos is a position in the log: entry Off of chunk N of commit Seq.
type logPos struct {
	Seq int64 `json:"s"`
	N   int   `json:"n"`
	Off int   `json:"o"`
}

func (a logPos) less(b logPos) bool {
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	if a.N != b.N {
		return a.N < b.N
	}
	return a.Off < b.Off
}

// logChunk is the data of a chunk item.
type logChunk struct {
	// Chunks is the number of chunks of the commit (a reader that sees
	// fewer stops before the commit's end).
	Chunks  int        `json:"n"`
	At      time.Time  `json:"at"`
	Entries []logEntry `json:"e"`
}

func (e logEntry) size() int { return len(e.AccountID) + len(e.ID) + len(e.Tx) + 64 }

// txChange is what a writer asks the log to consider: a transaction item
// it wrote (or a transaction it deletes, removal).
type txChange struct {
	item      store.Item
	accountID string
	id        string
	month     string
	digest    digest
	removal   bool
}

// changeOf describes a transaction item as written.
func changeOf(it store.Item, t Transaction) txChange {
	return txChange{item: it, accountID: t.AccountID, id: t.ID, month: txMonth(t.MadeOn), digest: digestOf(it.Data)}
}

// removalOf describes the deletion of a stored transaction.
func removalOf(t Transaction) txChange {
	return txChange{accountID: t.AccountID, id: t.ID, month: txMonth(t.MadeOn), removal: true}
}

// SyncCounts count the entries a writer committed.
type SyncCounts struct {
	Added    int64 `json:"added,omitempty"`
	Modified int64 `json:"modified,omitempty"`
	Removed  int64 `json:"removed,omitempty"`
}

// Total is the number of entries.
func (c SyncCounts) Total() int64 { return c.Added + c.Modified + c.Removed }

// Add sums two counts.
func (c SyncCounts) Add(o SyncCounts) SyncCounts {
	return SyncCounts{Added: c.Added + o.Added, Modified: c.Modified + o.Modified, Removed: c.Removed + o.Removed}
}

type bucketKey struct{ account, month string }

// digestEntry is what a bucket knows of a transaction: the digest of the
// version the log announced last, and where it announced it (added).
type digestEntry struct {
	d   digest
	add logPos
}

// digestPart is one stored part of a bucket.
type digestPart struct {
	index   int // 0: the part that records how many there are
	exists  bool
	version int64
	entries map[string]digestEntry
	// commits lists, ascending, the commits with added or modified entries
	// of the part's transactions: what the account's removal redacts.
	commits []int64
	size    int
	dirty   bool
}

// entrySize bounds the encoded size of a bucket entry: the id's length,
// the id, the digest and the position (three varints).
func entrySize(id string) int {
	n := 1
	for v := len(id); v >= 0x80; v >>= 7 {
		n++
	}
	return n + len(id) + len(digest{}) + 16
}

// commitSize bounds the encoded size of a part's commit number.
const commitSize = 10

func newPart(index int) *digestPart {
	return &digestPart{index: index, entries: map[string]digestEntry{}}
}

// addCommit records that commit seq wrote entries of the part.
func (p *digestPart) addCommit(seq int64) {
	if n := len(p.commits); n > 0 && p.commits[n-1] == seq {
		return
	}
	p.commits = append(p.commits, seq)
	p.size += commitSize
	p.dirty = true
}

// bucket is the digests of one account and month, over its parts.
type bucket struct {
	parts []*digestPart
	// deleteAll: the commit deletes every part (the account is removed).
	deleteAll bool
}

func emptyBucket() *bucket {
	return &bucket{parts: []*digestPart{newPart(0)}}
}

func (b *bucket) clone() *bucket {
	c := &bucket{parts: make([]*digestPart, len(b.parts))}
	for i, p := range b.parts {
		np := *p
		np.entries = make(map[string]digestEntry, len(p.entries))
		for k, v := range p.entries {
			np.entries[k] = v
		}
		np.commits = slices.Clone(p.commits)
		np.dirty = false
		c.parts[i] = &np
	}
	return c
}

func (b *bucket) get(id string) (digestEntry, int, bool) {
	for i, p := range b.parts {
		if e, ok := p.entries[id]; ok {
			return e, i, true
		}
	}
	return digestEntry{}, 0, false
}

// set records e for id and returns the part that holds it.
func (b *bucket) set(id string, e digestEntry) *digestPart {
	if _, i, ok := b.get(id); ok {
		b.parts[i].entries[id] = e
		b.parts[i].dirty = true
		return b.parts[i]
	}
	last := b.parts[len(b.parts)-1]
	if last.size+entrySize(id)+commitSize > maxPartBytes {
		last = newPart(len(b.parts))
		b.parts = append(b.parts, last)
		b.parts[0].dirty = true // it records the number of parts
	}
	last.entries[id] = e
	last.size += entrySize(id)
	last.dirty = true
	return last
}

func (b *bucket) del(id string) {
	if _, i, ok := b.get(id); ok {
		delete(b.parts[i].entries, id)
		b.parts[i].size -= entrySize(id)
		b.parts[i].dirty = true
	}
}

// ids lists every id of the bucket, sorted.
func (b *bucket) ids() []string {
	var out []string
	for _, p := range b.parts {
		for id := range p.entries {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Bucket part encoding: a format byte, the number of parts (part 0; 0 in
// the others), the number of commits then each commit's number as the
// difference from the one before, the number of entries, then per entry
// (in id order) the id's length, the id, the digest and the position of
// its add entry (commit, chunk, offset).
const digestFormat = 1

func encodePart(p *digestPart, parts int) []byte {
	ids := make([]string, 0, len(p.entries))
	for id := range p.entries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	buf := make([]byte, 0, 1+3*binary.MaxVarintLen64+p.size)
	buf = append(buf, digestFormat)
	buf = binary.AppendUvarint(buf, uint64(parts))
	buf = binary.AppendUvarint(buf, uint64(len(p.commits)))
	var prev int64
	for _, c := range p.commits {
		buf = binary.AppendUvarint(buf, uint64(c-prev))
		prev = c
	}
	buf = binary.AppendUvarint(buf, uint64(len(ids)))
	for _, id := range ids {
		buf = binary.AppendUvarint(buf, uint64(len(id)))
		buf = append(buf, id...)
		e := p.entries[id]
		buf = append(buf, e.d[:]...)
		buf = binary.AppendUvarint(buf, uint64(e.add.Seq))
		buf = binary.AppendUvarint(buf, uint64(e.add.N))
		buf = binary.AppendUvarint(buf, uint64(e.add.Off))
	}
	return buf
}

func decodePart(it store.Item) (p *digestPart, parts int, err error) {
	bad := func(what string) error {
		return fmt.Errorf("decode digest bucket %s|%s: %s", it.PK, it.SK, what)
	}
	r := bytes.NewReader(it.Data)
	f, err := r.ReadByte()
	if err != nil || f != digestFormat {
		return nil, 0, bad("unknown format")
	}
	np, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, 0, bad("parts")
	}
	nc, err := binary.ReadUvarint(r)
	if err != nil || nc > uint64(len(it.Data)) {
		return nil, 0, bad("commits")
	}
	p = &digestPart{exists: true, version: it.Version, commits: make([]int64, 0, nc)}
	var prev uint64
	for range nc {
		d, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, 0, bad("commit")
		}
		prev += d
		p.commits = append(p.commits, int64(prev))
		p.size += commitSize
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(it.Data)) {
		return nil, 0, bad("count")
	}
	p.entries = make(map[string]digestEntry, n)
	for range n {
		l, err := binary.ReadUvarint(r)
		if err != nil || l > uint64(r.Len()) {
			return nil, 0, bad("entry")
		}
		id := make([]byte, l)
		var e digestEntry
		if _, err := io.ReadFull(r, id); err != nil {
			return nil, 0, bad("entry id")
		}
		if _, err := io.ReadFull(r, e.d[:]); err != nil {
			return nil, 0, bad("entry digest")
		}
		var pos [3]uint64
		for i := range pos {
			if pos[i], err = binary.ReadUvarint(r); err != nil {
				return nil, 0, bad("entry position")
			}
		}
		e.add = logPos{Seq: int64(pos[0]), N: int(pos[1]), Off: int(pos[2])}
		p.entries[string(id)] = e
		p.size += entrySize(string(id))
	}
	if r.Len() != 0 {
		return nil, 0, bad("trailing bytes")
	}
	return p, int(np), nil
}

// syncLog writes a party's change log for one writer (an import step, a
// removal). It caches the digest buckets it read or wrote and the
// counter; a commit that loses a race re-reads what changed.
type syncLog struct {
	st      store.Store
	now     func() time.Time
	partyID string

	seq      int64 // the counter as last seen
	seqKnown bool
	buckets  map[bucketKey]*bucket
	// fresh accounts were first stored by this writer's run: they have no
	// buckets unless this run committed some (a commit that assumed
	// wrongly fails its IfNotExists and reads them).
	fresh map[string]bool
	// stored are buckets of fresh accounts found to exist after all.
	stored map[bucketKey]bool

	counts  SyncCounts
	changed map[string]bool // accounts with committed changes
}

func (s *Service) newSyncLog(partyID string) *syncLog {
	return &syncLog{st: s.store, now: s.clock.Now, partyID: partyID, buckets: map[bucketKey]*bucket{}, fresh: map[string]bool{}, stored: map[bucketKey]bool{}, changed: map[string]bool{}}
}

// changedAccounts lists the accounts with committed changes, sorted.
func (l *syncLog) changedAccounts() []string {
	out := make([]string, 0, len(l.changed))
	for id := range l.changed {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// pending is the part of a change set that touches one bucket.
type pending struct {
	key     bucketKey
	b       *bucket // the bucket as it will be after the commit
	entries []logEntry
	items   []store.Item // transaction items behind the entries
	// written are the parts that get added or modified entries (they
	// record the commit's number).
	written map[*digestPart]bool
}

// A commit lost a race: another commit of the party took its number
// (errCounterRace: the same change set commits under the next one), or
// another writer changed a bucket it writes (errBucketRace: the set is
// diffed again). Both match errCommitRace.
var (
	errCommitRace  = errors.New("holdings: change log commit raced")
	errCounterRace = fmt.Errorf("%w on the counter", errCommitRace)
	errBucketRace  = fmt.Errorf("%w on a digest bucket", errCommitRace)
)

// apply logs a set of changes: it reads the buckets it lacks (one
// BatchGet), diffs, and commits what is new in one transaction (more when
// the set spans more buckets than a transaction holds). After a lost race
// the set is diffed against fresh buckets and the transaction items behind
// what is still new are written again (the other writer may have written
// another version of them), so the table holds what the log last said.
func (l *syncLog) apply(ctx context.Context, changes []txChange) error {
	if len(changes) == 0 {
		return nil
	}
	// A set whose entries may not fit one transaction goes in halves
	// (a flush of very long transactions).
	if size := changesSize(changes); size > commitMaxBytes/2 && len(changes) > 1 {
		if err := l.apply(ctx, changes[:len(changes)/2]); err != nil {
			return err
		}
		return l.apply(ctx, changes[len(changes)/2:])
	}
	rewrite := false
	for range commitAttempts {
		if err := l.load(ctx, changes); err != nil {
			return err
		}
		ps := l.diff(changes)
		if len(ps) == 0 {
			return nil
		}
		if rewrite {
			var items []store.Item
			for _, p := range ps {
				items = append(items, p.items...)
			}
			if err := l.st.BatchWrite(ctx, items, nil); err != nil {
				return fmt.Errorf("rewrite %d transactions: %w", len(items), err)
			}
		}
		err := l.commitAll(ctx, ps)
		if !errors.Is(err, errCommitRace) {
			return err
		}
		rewrite = rewrite || errors.Is(err, errBucketRace)
	}
	return fmt.Errorf("log changes of party %s: %w %d times", l.partyID, errCommitRace, commitAttempts)
}

// changesSize bounds the log entries a change set can make.
func changesSize(changes []txChange) int {
	n := 0
	for _, c := range changes {
		n += logEntry{AccountID: c.accountID, ID: c.id, Tx: c.item.Data}.size()
	}
	return n
}

// load reads the buckets the changes need that are not cached.
func (l *syncLog) load(ctx context.Context, changes []txChange) error {
	var keys []store.Key
	seen := map[bucketKey]bool{}
	for _, c := range changes {
		k := bucketKey{c.accountID, c.month}
		if seen[k] || l.buckets[k] != nil {
			continue
		}
		seen[k] = true
		// A removal must see the truth: an empty bucket assumed wrongly
		// would make it log nothing, with no write to fail.
		if l.fresh[c.accountID] && !c.removal && !l.stored[k] {
			l.buckets[k] = emptyBucket()
			continue
		}
		keys = append(keys, store.Key{PK: AccountPK(k.account), SK: digestSK(k.month, 0)})
	}
	return l.read(ctx, keys)
}

// read loads buckets by the keys of their part 0 (absent: empty), and
// their further parts with a second BatchGet.
func (l *syncLog) read(ctx context.Context, keys []store.Key) error {
	if len(keys) == 0 {
		return nil
	}
	items, err := l.st.BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("load digest buckets: %w", err)
	}
	for _, k := range keys {
		month, _, _ := parseDigestSK(k.SK)
		l.buckets[bucketKey{strings.TrimPrefix(k.PK, AccountPK("")), month}] = emptyBucket()
	}
	var more []store.Key
	for _, it := range items {
		p, parts, err := decodePart(it)
		if err != nil {
			return err
		}
		month, _, _ := parseDigestSK(it.SK)
		bk := bucketKey{strings.TrimPrefix(it.PK, AccountPK("")), month}
		b := &bucket{parts: make([]*digestPart, max(parts, 1))}
		b.parts[0] = p
		for i := 1; i < len(b.parts); i++ {
			b.parts[i] = newPart(i)
			more = append(more, store.Key{PK: it.PK, SK: digestSK(month, i)})
		}
		l.buckets[bk] = b
	}
	if len(more) == 0 {
		return nil
	}
	rest, err := l.st.BatchGet(ctx, more)
	if err != nil {
		return fmt.Errorf("load digest bucket parts: %w", err)
	}
	for _, it := range rest {
		p, _, err := decodePart(it)
		if err != nil {
			return err
		}
		month, part, _ := parseDigestSK(it.SK)
		b := l.buckets[bucketKey{strings.TrimPrefix(it.PK, AccountPK("")), month}]
		if b != nil && part < len(b.parts) {
			p.index = part
			b.parts[part] = p
		}
	}
	return nil
}

// diff turns changes into log entries against the cached buckets, per
// bucket, in the order the changes came; the cache is not touched (commit
// installs the new buckets).
func (l *syncLog) diff(changes []txChange) []*pending {
	by := map[bucketKey]*pending{}
	var order []*pending
	for _, c := range changes {
		k := bucketKey{c.accountID, c.month}
		p := by[k]
		if p == nil {
			p = &pending{key: k, b: l.buckets[k].clone()}
			by[k] = p
			order = append(order, p)
		}
		old, _, known := p.b.get(c.id)
		switch {
		case c.removal:
			if !known {
				continue
			}
			p.b.del(c.id)
			add := old.add
			p.entries = append(p.entries, logEntry{Op: opRemoved, AccountID: c.accountID, ID: c.id, Add: &add})
			continue
		case !known:
			// Its position is known when the commit is built.
			p.entries = append(p.entries, logEntry{Op: opAdded, AccountID: c.accountID, ID: c.id, Tx: c.item.Data})
		case old.d != c.digest:
			p.entries = append(p.entries, logEntry{Op: opModified, AccountID: c.accountID, ID: c.id, Tx: c.item.Data})
		default:
			continue
		}
		part := p.b.set(c.id, digestEntry{d: c.digest, add: old.add})
		if p.written == nil {
			p.written = map[*digestPart]bool{}
		}
		p.written[part] = true
		p.items = append(p.items, c.item)
	}
	out := order[:0]
	for _, p := range order {
		if len(p.entries) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// commitAll commits the pending buckets in as few transactions as the
// limits allow. A transaction that lost a race invalidates what it
// raced on and returns errCommitRace; the ones before it stay committed.
func (l *syncLog) commitAll(ctx context.Context, ps []*pending) error {
	var group []*pending
	ops, size := 1, 0
	for _, p := range ps {
		pOps, pSize := p.cost()
		if len(group) > 0 && (ops+pOps > commitMaxOps || size+pSize > commitMaxBytes) {
			if err := l.commit(ctx, group); err != nil {
				return err
			}
			group, ops, size = nil, 1, 0
		}
		group = append(group, p)
		ops += pOps
		size += pSize
	}
	return l.commit(ctx, group)
}

// cost estimates the transaction ops and bytes of a pending bucket.
func (p *pending) cost() (ops, size int) {
	for _, e := range p.entries {
		size += e.size()
	}
	ops = size/maxChunkBytes + 1
	for _, part := range p.b.parts {
		if part.dirty || p.b.deleteAll {
			ops++
			size += part.size + 64
		}
	}
	return ops, size
}

// commit writes one commit: counter, chunks and buckets in one transaction.
func (l *syncLog) commit(ctx context.Context, group []*pending) error {
	if len(group) == 0 {
		return nil
	}
	if !l.seqKnown {
		it, err := l.st.Get(ctx, syncSeqKey(l.partyID))
		switch {
		case errors.Is(err, store.ErrNotFound):
			l.seq = 0
		case err != nil:
			return fmt.Errorf("read change log counter of party %s: %w", l.partyID, err)
		default:
			l.seq = it.Version
		}
		l.seqKnown = true
	}
	seq := l.seq + 1
	counter := store.Item{PK: SyncPK(l.partyID), SK: syncSeqSK, Version: seq, Data: fmt.Appendf(nil, `{"last":%d}`, seq)}
	cond := store.IfVersion(l.seq)
	if l.seq == 0 {
		cond = store.IfNotExists()
	}
	ops := []store.TxOp{store.TxPut(counter, cond)}

	var chunks [][]logEntry
	var cur []logEntry
	curSize := 0
	for _, p := range group {
		for _, e := range p.entries {
			if len(cur) > 0 && curSize+e.size() > maxChunkBytes {
				chunks = append(chunks, cur)
				cur, curSize = nil, 0
			}
			if e.Op == opAdded {
				// The bucket remembers where the log announced it.
				be, i, _ := p.b.get(e.ID)
				be.add = logPos{Seq: seq, N: len(chunks), Off: len(cur)}
				p.b.parts[i].entries[e.ID] = be
			}
			cur = append(cur, e)
			curSize += e.size()
		}
		for part := range p.written {
			part.addCommit(seq)
		}
	}
	chunks = append(chunks, cur)
	at := l.now().UTC()
	for n, entries := range chunks {
		data, err := json.Marshal(logChunk{Chunks: len(chunks), At: at, Entries: entries})
		if err != nil {
			return fmt.Errorf("encode change log chunk: %w", err)
		}
		ops = append(ops, store.TxPut(store.Item{PK: SyncPK(l.partyID), SK: syncChunkSK(seq, n), Data: data}, store.IfNotExists()))
	}
	type partRef struct {
		key  bucketKey
		part int
	}
	var refs []partRef
	for _, p := range group {
		for _, part := range p.b.parts {
			k := store.Key{PK: AccountPK(p.key.account), SK: digestSK(p.key.month, part.index)}
			cond := store.IfNotExists()
			if part.exists {
				cond = store.IfVersion(part.version)
			}
			switch {
			case p.b.deleteAll:
				if !part.exists {
					continue
				}
				ops = append(ops, store.TxDelete(k, cond))
			case part.dirty:
				ops = append(ops, store.TxPut(store.Item{PK: k.PK, SK: k.SK, Version: part.version + 1, Data: encodePart(part, len(p.b.parts))}, cond))
			default:
				continue
			}
			refs = append(refs, partRef{p.key, part.index})
		}
	}
	err := l.st.Transact(ctx, ops)
	var te *store.TxError
	if errors.As(err, &te) {
		if i := te.Index - 1 - len(chunks); i >= 0 && i < len(refs) {
			delete(l.buckets, refs[i].key) // re-read it
			l.stored[refs[i].key] = true
			return fmt.Errorf("%w: %w", errBucketRace, err)
		}
		l.seqKnown = false // another commit took the number
		return fmt.Errorf("%w: %w", errCounterRace, err)
	}
	if err != nil {
		return fmt.Errorf("commit change log of party %s: %w", l.partyID, err)
	}
	l.seq = seq
	for _, p := range group {
		if p.b.deleteAll {
			delete(l.buckets, p.key)
		} else {
			for _, part := range p.b.parts {
				if part.dirty {
					part.exists, part.version, part.dirty = true, part.version+1, false
				}
			}
			l.buckets[p.key] = p.b
		}
		for _, e := range p.entries {
			switch e.Op {
			case opAdded:
				l.counts.Added++
			case opModified:
				l.counts.Modified++
			case opRemoved:
				l.counts.Removed++
			}
		}
		l.changed[p.key.account] = true
	}
	return nil
}

// removeAccount logs the removal of every transaction the log announced
// for an account and deletes its digest buckets, in commits; the caller
// deletes the account's items afterwards. A writer that raced (an import
// step still running) makes it read the buckets again; run again after a
// failure, it logs only what is left.
func (l *syncLog) removeAccount(ctx context.Context, accountID string) error {
	for range commitAttempts {
		buckets, err := l.readAccount(ctx, accountID)
		if err != nil {
			return err
		}
		if len(buckets) == 0 {
			return nil
		}
		// First the data goes: every entry that announced one of the
		// account's transactions is redacted (run again after a failure,
		// it finds what is left to redact).
		var commits []int64
		for _, b := range buckets {
			for _, part := range b.b.parts {
				commits = append(commits, part.commits...)
			}
		}
		if err := l.redact(ctx, accountID, commits); err != nil {
			return err
		}
		// Then the removal notices: one pending change per part (a part's
		// notices fit a commit whatever the month holds), the last one
		// ending with the account's end marker.
		var ps []*pending
		for _, b := range buckets {
			for _, part := range b.b.parts {
				p := &pending{key: b.key, b: &bucket{parts: []*digestPart{part}, deleteAll: true}}
				for _, id := range p.b.ids() {
					add := part.entries[id].add
					p.entries = append(p.entries, logEntry{Op: opRemoved, AccountID: accountID, ID: id, Add: &add})
				}
				ps = append(ps, p)
			}
		}
		last := ps[len(ps)-1]
		last.entries = append(last.entries, logEntry{Op: opAccountGone, AccountID: accountID})
		err = l.commitAll(ctx, ps)
		if !errors.Is(err, errCommitRace) {
			return err
		}
	}
	return fmt.Errorf("log removal of account %s: %w %d times", accountID, errCommitRace, commitAttempts)
}

// redact replaces the added and modified entries of an account in the
// given commits by markers without data, newest chunk first: a reader
// that meets a marker meets only markers of the account after it (it
// reads oldest first), which is what lets it tell its client the removal
// of exactly the transactions it was given (Service.Sync).
func (l *syncLog) redact(ctx context.Context, accountID string, commits []int64) error {
	slices.Sort(commits)
	commits = slices.Compact(commits)
	for i := len(commits) - 1; i >= 0; i-- {
		chunks, err := l.commitChunks(ctx, commits[i])
		if err != nil {
			return err
		}
		for j := len(chunks) - 1; j >= 0; j-- {
			if err := l.redactChunk(ctx, accountID, chunks[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// commitChunks reads the chunks of a commit, in order.
func (l *syncLog) commitChunks(ctx context.Context, seq int64) ([]store.Item, error) {
	var out []store.Item
	q := store.Query{PK: SyncPK(l.partyID), SKPrefix: fmt.Sprintf("%012d#", seq)}
	for {
		page, err := l.st.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read change log commit %d of party %s: %w", seq, l.partyID, err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		q.Token = page.Next
	}
}

// redactChunk rewrites one chunk without the account's data (version
// guarded: a concurrent redaction of the same chunk makes it read again).
func (l *syncLog) redactChunk(ctx context.Context, accountID string, it store.Item) error {
	for range commitAttempts {
		var ch logChunk
		if err := json.Unmarshal(it.Data, &ch); err != nil {
			return fmt.Errorf("decode change log chunk %s|%s: %w", it.PK, it.SK, err)
		}
		changed := false
		for i, e := range ch.Entries {
			if e.AccountID == accountID && (e.Op == opAdded || e.Op == opModified) {
				ch.Entries[i] = logEntry{Op: opRedacted, AccountID: e.AccountID, ID: e.ID}
				changed = true
			}
		}
		if !changed {
			return nil
		}
		data, err := json.Marshal(ch)
		if err != nil {
			return fmt.Errorf("encode change log chunk: %w", err)
		}
		err = l.st.Put(ctx, store.Item{PK: it.PK, SK: it.SK, Version: it.Version + 1, Data: data}, store.IfVersion(it.Version))
		if !errors.Is(err, store.ErrConditionFailed) {
			if err != nil {
				return fmt.Errorf("redact change log chunk %s: %w", it.SK, err)
			}
			return nil
		}
		k := it.Key()
		if it, err = l.st.Get(ctx, k); err != nil {
			return fmt.Errorf("read change log chunk %s again: %w", k.SK, err)
		}
	}
	return fmt.Errorf("redact change log chunk %s: changed %d times", it.SK, commitAttempts)
}

// readAccount reads every digest bucket of an account (one query per MB),
// by month.
func (l *syncLog) readAccount(ctx context.Context, accountID string) ([]*pending, error) {
	q := store.Query{PK: AccountPK(accountID), SKPrefix: DigestSKPrefix}
	by := map[string]*pending{}
	var order []*pending
	for {
		page, err := l.st.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list digest buckets of account %s: %w", accountID, err)
		}
		for _, it := range page.Items {
			month, part, ok := parseDigestSK(it.SK)
			if !ok {
				continue
			}
			p, _, err := decodePart(it)
			if err != nil {
				return nil, err
			}
			p.index = part
			pb := by[month]
			if pb == nil {
				pb = &pending{key: bucketKey{accountID, month}, b: &bucket{}}
				by[month] = pb
				order = append(order, pb)
			}
			pb.b.parts = append(pb.b.parts, p)
		}
		if page.Next == "" {
			return order, nil
		}
		q.Token = page.Next
	}
}
