package holdings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/store"
)

// Page sizes of Sync: count from 1 to MaxSyncCount, DefaultSyncCount when 0.
const (
	MaxSyncCount     = 500
	DefaultSyncCount = 100
)

// SyncQuery asks for the changes after a cursor.
type SyncQuery struct {
	// Cursor is a previous page's Next; empty reads from the beginning.
	Cursor string
	// Count is the most log entries the page consumes (0: the default).
	Count int
}

// RemovedTransaction names a transaction that is gone.
type RemovedTransaction struct {
	ID        string
	AccountID string
}

// SyncPage is one page of a party's changes. Within a page a transaction
// appears once, with its net change: added then modified reads as added
// (its last version), added then removed not at all, modified then
// removed as removed, removed then added again as modified.
type SyncPage struct {
	Added    []Transaction
	Modified []Transaction
	Removed  []RemovedTransaction
	// Next is the cursor after this page (always set: a client keeps it
	// and asks again later).
	Next string
	// HasMore: more changes were committed than this page holds.
	HasMore bool
}

// syncCursor is where a client stands: the position of the next entry to
// read, and for each removed account whose redacted entries it met (Q),
// the position of the first one: what it got of that account before it
// is what it holds.
type syncCursor struct {
	Pos logPos
	Q   map[string]logPos
}

// cursorBinding binds a cursor to its party (the store's page-token codec,
// with a selection no store query uses).
func cursorBinding(partyID string) store.Query {
	return store.Query{PK: SyncPK(partyID), SKPrefix: "sync-cursor/v1"}
}

func (s *Service) sealCursor(partyID string, c syncCursor) (string, error) {
	m := map[string]string{"s": strconv.FormatInt(c.Pos.Seq, 10), "n": strconv.Itoa(c.Pos.N), "o": strconv.Itoa(c.Pos.Off)}
	if len(c.Q) > 0 {
		q, err := json.Marshal(c.Q)
		if err != nil {
			return "", fmt.Errorf("encode cursor: %w", err)
		}
		m["q"] = string(q)
	}
	return s.tokens.Seal(cursorBinding(partyID), m), nil
}

func (s *Service) openCursor(partyID, token string) (syncCursor, error) {
	if token == "" {
		return syncCursor{}, nil
	}
	bad := func(err error) error {
		return fault.Wrap(ErrInvalidPageToken, err, "the cursor is invalid or belongs to another party")
	}
	m, err := s.tokens.Open(cursorBinding(partyID), token)
	if err != nil {
		return syncCursor{}, bad(err)
	}
	seq, err1 := strconv.ParseInt(m["s"], 10, 64)
	n, err2 := strconv.Atoi(m["n"])
	off, err3 := strconv.Atoi(m["o"])
	if err := errors.Join(err1, err2, err3); err != nil || seq < 0 || n < 0 || off < 0 {
		return syncCursor{}, bad(err)
	}
	c := syncCursor{Pos: logPos{Seq: seq, N: n, Off: off}}
	if q := m["q"]; q != "" {
		if err := json.Unmarshal([]byte(q), &c.Q); err != nil {
			return syncCursor{}, bad(err)
		}
		// Positions are in range like the cursor's own (a cursor of
		// another version of the format must not read as one).
		for acc, p := range c.Q {
			if p.Seq < 0 || p.N < 0 || p.Off < 0 {
				return syncCursor{}, bad(fmt.Errorf("position %+v of account %q out of range", p, acc))
			}
		}
	}
	return c, nil
}

// Sync reads one page of a party's transaction changes after q.Cursor:
// ONE query of the party's change log (chunks in commit order, from the
// cursor's chunk). It does not check the caller's access to the party.
//
// A removed account's entries are redacted (markers without data) and its
// removal announced by notices that say where each transaction was
// announced. A notice is told when the client got that announcement: read
// in an earlier page (before the cursor) and before the first marker of
// the account it met (the cursor remembers that position; the redaction
// runs newest first, so a reader meets the markers of an account after its
// data, never before). Read in this page, the announcement and the notice
// fold away.
func (s *Service) Sync(ctx context.Context, partyID string, q SyncQuery) (SyncPage, error) {
	count := q.Count
	if count == 0 {
		count = DefaultSyncCount
	}
	if count < 1 || count > MaxSyncCount {
		return SyncPage{}, fault.Errorf(ErrInvalidLimit, "count must be between 1 and %d", MaxSyncCount)
	}
	cur, err := s.openCursor(partyID, q.Cursor)
	if err != nil {
		return SyncPage{}, err
	}
	// Every chunk holds at least one entry: count chunks after the
	// cursor's (partly read) one hold at least count entries.
	sq := store.Query{PK: SyncPK(partyID), From: syncChunkSK(cur.Pos.Seq, cur.Pos.N), Limit: count + 1}
	page, err := s.store.Query(ctx, sq)
	if err != nil {
		return SyncPage{}, fmt.Errorf("read change log of party %s: %w", partyID, err)
	}
	var (
		net   = newNetChanges()
		taken = 0
		start = cur.Pos
		pos   = cur.Pos
		qs    = maps.Clone(cur.Q)
		more  = page.Next != ""
	)
	if qs == nil {
		qs = map[string]logPos{}
	}
walk:
	for i, it := range page.Items {
		seq, n, ok := parseChunkSK(it.SK)
		if !ok {
			continue
		}
		var ch logChunk
		if err := json.Unmarshal(it.Data, &ch); err != nil {
			return SyncPage{}, fmt.Errorf("decode change log chunk %s|%s: %w", it.PK, it.SK, err)
		}
		first := 0
		if seq == cur.Pos.Seq && n == cur.Pos.N {
			first = min(cur.Pos.Off, len(ch.Entries))
		}
		for j := first; j < len(ch.Entries); j++ {
			if taken == count {
				more = true
				break walk
			}
			here := logPos{Seq: seq, N: n, Off: j}
			if err := net.read(ch.Entries[j], here, start, qs); err != nil {
				return SyncPage{}, err
			}
			taken++
			pos = logPos{Seq: seq, N: n, Off: j + 1}
		}
		if first == len(ch.Entries) {
			pos = logPos{Seq: seq, N: n, Off: len(ch.Entries)}
		}
		// A commit is one transaction; should a reader ever see part of
		// one, it stops inside it and reads the rest next time.
		if n < ch.Chunks-1 {
			nextSeq, nextN, _ := nextChunk(page.Items, i)
			if nextSeq != seq || nextN != n+1 {
				more = true
				break
			}
		}
	}
	out, err := net.page()
	if err != nil {
		return SyncPage{}, err
	}
	if out.Next, err = s.sealCursor(partyID, syncCursor{Pos: pos, Q: qs}); err != nil {
		return SyncPage{}, err
	}
	out.HasMore = more
	return out, nil
}

// nextChunk is the key of the chunk after item i of a page (-1 when none).
func nextChunk(items []store.Item, i int) (int64, int, bool) {
	if i+1 >= len(items) {
		return -1, -1, false
	}
	return parseChunkSK(items[i+1].SK)
}

// netChanges folds a page's entries into one change per transaction.
type netChanges struct {
	order []txRef
	by    map[txRef]*netChange
}

type txRef struct{ account, id string }

type netChange struct {
	first, last string
	tx          json.RawMessage // nil: only a marker was read
}

func newNetChanges() *netChanges { return &netChanges{by: map[txRef]*netChange{}} }

// read takes the entry at position here; start is where the page began,
// qs the cursor's first-marker positions (updated).
func (c *netChanges) read(e logEntry, here, start logPos, qs map[string]logPos) error {
	switch e.Op {
	case opAdded, opModified:
		if q, ok := qs[e.AccountID]; ok && q.less(here) {
			// Data of an account after its markers: written after the
			// redaction began (an import that raced the removal). What the
			// client got of it is no longer known; its notices will be told.
			delete(qs, e.AccountID)
		}
		c.note(e, e.Op)
	case opRedacted:
		if _, ok := qs[e.AccountID]; !ok {
			qs[e.AccountID] = here
		}
		// The client gets nothing of it; a notice later in this page
		// folds it away like an added one.
		if e.ID != "" {
			c.note(logEntry{Op: opRedacted, AccountID: e.AccountID, ID: e.ID}, opAdded)
		}
	case opRemoved:
		if e.Add != nil && !e.Add.less(start) {
			// Announced in this page: the two fold.
			c.note(e, opRemoved)
			return nil
		}
		if q, ok := qs[e.AccountID]; ok && e.Add != nil && !e.Add.less(q) {
			return nil // the client met its marker, never its data
		}
		c.note(e, opRemoved)
	case opAccountGone:
		delete(qs, e.AccountID)
	default:
		return fmt.Errorf("change log entry of %s with unknown operation %q", e.ID, e.Op)
	}
	return nil
}

// note records op for the entry's transaction (as the first op when it is
// new to the page).
func (c *netChanges) note(e logEntry, op string) {
	r := txRef{e.AccountID, e.ID}
	nc := c.by[r]
	if nc == nil {
		nc = &netChange{first: op}
		c.by[r] = nc
		c.order = append(c.order, r)
	}
	nc.last = op
	if e.Op == opAdded || e.Op == opModified {
		nc.tx = e.Tx
	}
}

func (c *netChanges) page() (SyncPage, error) {
	var out SyncPage
	for _, r := range c.order {
		nc := c.by[r]
		if nc.last == opRemoved {
			if nc.first != opAdded { // added and removed within the page: never known
				out.Removed = append(out.Removed, RemovedTransaction{ID: r.id, AccountID: r.account})
			}
			continue
		}
		if nc.tx == nil {
			continue // only its marker: the client gets nothing
		}
		// The log holds the transaction's bytes as the importer stored them.
		var t Transaction
		if err := json.Unmarshal(nc.tx, &t); err != nil {
			return SyncPage{}, fmt.Errorf("decode logged transaction %s of account %s: %w", r.id, r.account, err)
		}
		t.ID, t.AccountID = r.id, r.account
		if nc.first == opAdded {
			out.Added = append(out.Added, t)
		} else {
			out.Modified = append(out.Modified, t)
		}
	}
	return out, nil
}
