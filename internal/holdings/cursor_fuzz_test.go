package holdings

import (
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/openagg/openagg/internal/store"
)

// FuzzSyncCursor: the transaction sync's cursor. Any string a client sends
// as a cursor either opens (then it is in range and, sealed again, opens
// to the same position) or is refused with ErrInvalidPageToken (a 400
// INVALID_PAGE_TOKEN in every dialect); it never panics and never opens
// for another party. The same holds for any content under a valid seal (a
// cursor of an older or newer version of the format): positions that are
// not non-negative integers are refused, never read as zero.
func FuzzSyncCursor(f *testing.F) {
	s := &Service{tokens: store.NewTokens([]byte("fuzz-secret-0123456789abcdef"))}
	good, err := s.sealCursor("p1", syncCursor{Pos: logPos{Seq: 3, N: 2, Off: 7}, Q: map[string]logPos{"acc": {Seq: 1}}})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []struct{ raw, s, n, o, q string }{
		{good, "0", "0", "0", ""}, {"", "3", "2", "7", `{"acc":{"s":1,"n":0,"o":0}}`}, {good[:len(good)-2], "-1", "0", "0", ""},
		{"%%%", "9223372036854775808", "1", "1", ""}, {"AAAA", "1", "x", "1", `{"acc":{"s":-1}}`}, {good + "A", "", "", "", "null"},
		{"eyJzIjoiMSJ9", "1", "1", "1", `[]`}, {"", "1", "1", "1", `{"acc":{"s":-1,"n":0,"o":0}}`}, {"", "00", "+1", " 1", `{"a":{"s":"1"}}`},
	} {
		f.Add(c.raw, c.s, c.n, c.o, c.q)
	}
	f.Fuzz(func(t *testing.T, raw, seq, n, off, q string) {
		// What a client sends.
		c, err := s.openCursor("p1", raw)
		if err != nil {
			assertInvalidCursor(t, err)
		} else {
			checkCursor(t, s, raw, c)
			if raw != "" {
				if _, err := s.openCursor("p2", raw); err == nil {
					t.Fatalf("cursor %q of p1 opened for p2", raw)
				}
			}
		}

		// Any content under a valid seal.
		m := map[string]string{"s": seq, "n": n, "o": off}
		if q != "" {
			m["q"] = q
		}
		sealed := s.tokens.Seal(cursorBinding("p1"), m)
		c, err = s.openCursor("p1", sealed)
		if err != nil {
			assertInvalidCursor(t, err)
			return
		}
		want := [3]string{strconv.FormatInt(c.Pos.Seq, 10), strconv.Itoa(c.Pos.N), strconv.Itoa(c.Pos.Off)}
		for i, v := range [3]string{seq, n, off} {
			if got, err := strconv.ParseInt(v, 10, 64); err != nil || strconv.FormatInt(got, 10) != want[i] {
				t.Fatalf("cursor content %v opened as %+v", m, c.Pos)
			}
		}
		checkCursor(t, s, sealed, c)
	})
}

// checkCursor: an opened cursor is in range, and sealed again it opens to
// the same cursor.
func checkCursor(t *testing.T, s *Service, raw string, c syncCursor) {
	t.Helper()
	positions := []logPos{c.Pos}
	for _, p := range c.Q {
		positions = append(positions, p)
	}
	for _, p := range positions {
		if p.Seq < 0 || p.N < 0 || p.Off < 0 {
			t.Fatalf("cursor %q opened out of range: %+v", raw, c)
		}
	}
	again, err := s.sealCursor("p1", c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.openCursor("p1", again)
	if len(back.Q) == 0 && len(c.Q) == 0 {
		back.Q, c.Q = nil, nil
	}
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("cursor %q opened as %+v; sealed again it opens as %+v (%v)", raw, c, back, err)
	}
}

func assertInvalidCursor(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidPageToken) {
		t.Fatalf("a refused cursor is %v, not ErrInvalidPageToken", err)
	}
}
