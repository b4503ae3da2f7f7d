package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/openagg/openagg/internal/store"
)

// Key layout. Strings that are followed by another component are escaped so
// that the byte order of the encoded key is the byte order of its components
// and no component can run into the next one (keys may contain 0x00):
//
//	esc(s) = s with every 0x00 replaced by 0x00 0xFF, then the terminator 0x00 0x01
//
//	store/items: esc(PK) SK                     → item value
//	store/gsi1:  esc(GSI1PK) esc(GSI1SK) esc(PK) SK → itemKey(PK, SK)
//
// The last component is stored raw: nothing follows it, and raw bytes keep
// the byte order DynamoDB uses for sort keys.

const (
	escByte  = 0x00
	escZero  = 0xFF // 0x00 0xFF encodes a 0x00 inside a component
	escEnd   = 0x01 // 0x00 0x01 ends a component
	valueTag = 1    // first byte of every item value: encoding version
)

// appendEscaped appends s escaped, without terminator (a prefix of every
// component that starts with s).
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escByte {
			b = append(b, escByte, escZero)
		} else {
			b = append(b, s[i])
		}
	}
	return b
}

// appendComponent appends s escaped and terminated.
func appendComponent(b []byte, s string) []byte {
	return append(appendEscaped(b, s), escByte, escEnd)
}

// itemKey is the key of an item in store/items.
func itemKey(pk, sk string) []byte {
	b := make([]byte, 0, len(pk)+len(sk)+2)
	return append(appendComponent(b, pk), sk...)
}

// gsiKey is the key of an item's entry in store/gsi1.
func gsiKey(it store.Item) []byte {
	b := make([]byte, 0, len(it.GSI1PK)+len(it.GSI1SK)+len(it.PK)+len(it.SK)+6)
	b = appendComponent(b, it.GSI1PK)
	b = appendComponent(b, it.GSI1SK)
	b = appendComponent(b, it.PK)
	return append(b, it.SK...)
}

// successor returns the smallest byte string greater than every string that
// starts with p, or nil when there is none (p is all 0xFF).
func successor(p []byte) []byte {
	s := append([]byte(nil), p...)
	for len(s) > 0 && s[len(s)-1] == 0xFF {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		return nil
	}
	s[len(s)-1]++
	return s
}

// encodeItem is the value stored under itemKey: a version byte, the four
// keys length-prefixed, version and TTL as varints, then the data.
func encodeItem(it store.Item) []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen32+len(it.PK)+len(it.SK)+len(it.GSI1PK)+len(it.GSI1SK)+2*binary.MaxVarintLen64+len(it.Data))
	b = append(b, valueTag)
	for _, s := range []string{it.PK, it.SK, it.GSI1PK, it.GSI1SK} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, it.Version)
	b = binary.AppendVarint(b, it.TTL)
	return append(b, it.Data...)
}

var errCorrupt = errors.New("bolt store: corrupt item value")

// decodeItem copies an item out of a value (bbolt's memory is only valid
// inside its transaction).
func decodeItem(v []byte) (store.Item, error) {
	items, err := decodeItems([][]byte{v}, false)
	if err != nil {
		return store.Item{}, err
	}
	return items[0], nil
}

// itemLayout is where the parts of an item value are: the four keys
// (offset, length), the version and TTL, and the data from dataAt on.
type itemLayout struct {
	keys     [4][2]int32
	version  int64
	ttl      int64
	dataAt   int32
	keyBytes int32
	// same has bit j set when key j equals the previous item's key j
	// (decodeItems).
	same uint8
}

func parseItem(v []byte) (itemLayout, error) {
	var l itemLayout
	if len(v) == 0 || v[0] != valueTag || len(v) > math.MaxInt32 {
		return l, errCorrupt
	}
	at := 1
	for i := range l.keys {
		n, w := binary.Uvarint(v[at:])
		if w <= 0 || uint64(len(v)-at-w) < n {
			return l, errCorrupt
		}
		l.keys[i] = [2]int32{int32(at + w), int32(n)}
		l.keyBytes += int32(n)
		at += w + int(n)
	}
	var w int
	if l.version, w = binary.Varint(v[at:]); w <= 0 {
		return l, errCorrupt
	}
	at += w
	if l.ttl, w = binary.Varint(v[at:]); w <= 0 {
		return l, errCorrupt
	}
	l.dataAt = int32(at + w)
	return l, nil
}

// arenaChunk is the most data decodeItems puts in one buffer: larger
// allocations take the heap's slow path (a lock, a span of their own).
const arenaChunk = 32 << 10

// decodeItems copies items out of their values with few allocations: one
// string holding every key of every item (each key is a substring of it; a
// key equal to the previous item's, as the partition key of a page mostly
// is, is that item's string) and buffers of up to arenaChunk holding the items' data (each Data is a
// slice of one, capped at its length so that appending to one never writes
// into the next). A page of 100 items of 800 bytes costs 6 allocations
// instead of 500. With lend, Data is not copied but the value's own bytes
// (store.Lender).
func decodeItems(vals [][]byte, lend bool) ([]store.Item, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	layouts := make([]itemLayout, len(vals))
	keyBytes, dataBytes := 0, 0
	for i, v := range vals {
		l, err := parseItem(v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			prev, pv := &layouts[i-1], vals[i-1]
			for j, k := range l.keys {
				if p := prev.keys[j]; bytes.Equal(v[k[0]:k[0]+k[1]], pv[p[0]:p[0]+p[1]]) {
					l.same |= 1 << j
					l.keyBytes -= k[1]
				}
			}
		}
		layouts[i] = l
		keyBytes += int(l.keyBytes)
		if !lend {
			dataBytes += len(v) - int(l.dataAt)
		}
	}
	var keys strings.Builder
	keys.Grow(keyBytes)
	for i, v := range vals {
		for j, k := range layouts[i].keys {
			if layouts[i].same&(1<<j) == 0 {
				keys.Write(v[k[0] : k[0]+k[1]])
			}
		}
	}
	all := keys.String()
	var data []byte // the current buffer
	items := make([]store.Item, len(vals))
	at := 0
	var strs [4]string // the previous item's keys
	for i, v := range vals {
		l := &layouts[i]
		for j, k := range l.keys {
			if l.same&(1<<j) == 0 {
				strs[j] = all[at : at+int(k[1])]
				at += int(k[1])
			}
		}
		items[i] = store.Item{PK: strs[0], SK: strs[1], GSI1PK: strs[2], GSI1SK: strs[3], Version: l.version, TTL: l.ttl}
		d := v[l.dataAt:]
		if len(d) == 0 {
			continue
		}
		if lend {
			items[i].Data = d[:len(d):len(d)]
			continue
		}
		if cap(data)-len(data) < len(d) {
			data = make([]byte, 0, max(len(d), min(dataBytes, arenaChunk)))
		}
		start := len(data)
		data = append(data, d...)
		items[i].Data = data[start:len(data):len(data)]
		dataBytes -= len(d)
	}
	return items, nil
}

// decodeHeader reads only the keys and version of a value: what conditions
// and index maintenance need, without copying the data.
func decodeHeader(v []byte) (gsi1pk, gsi1sk string, version int64, err error) {
	if len(v) == 0 || v[0] != valueTag {
		return "", "", 0, errCorrupt
	}
	v = v[1:]
	var strs [4]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return "", "", 0, errCorrupt
		}
		if i >= 2 {
			strs[i] = string(v[w : w+int(n)])
		}
		v = v[w+int(n):]
	}
	version, w := binary.Varint(v)
	if w <= 0 {
		return "", "", 0, errCorrupt
	}
	return strs[2], strs[3], version, nil
}

// checkCond says whether cond holds for the stored value v (nil: missing).
func checkCond(v []byte, cond store.Condition) (bool, error) {
	switch cond.Kind {
	case store.CondNone:
		return true, nil
	case store.CondNotExists:
		return v == nil, nil
	case store.CondExists:
		return v != nil, nil
	case store.CondVersion:
		if v == nil {
			return false, nil
		}
		_, _, version, err := decodeHeader(v)
		if err != nil {
			return false, err
		}
		return version == cond.Version, nil
	default:
		return false, fmt.Errorf("%w: unknown condition kind %d", store.ErrInvalid, cond.Kind)
	}
}
