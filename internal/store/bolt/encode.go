package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

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
	if len(v) == 0 || v[0] != valueTag {
		return store.Item{}, errCorrupt
	}
	v = v[1:]
	var strs [4]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return store.Item{}, errCorrupt
		}
		strs[i] = string(v[w : w+int(n)])
		v = v[w+int(n):]
	}
	version, w := binary.Varint(v)
	if w <= 0 {
		return store.Item{}, errCorrupt
	}
	v = v[w:]
	ttl, w := binary.Varint(v)
	if w <= 0 {
		return store.Item{}, errCorrupt
	}
	v = v[w:]
	it := store.Item{PK: strs[0], SK: strs[1], GSI1PK: strs[2], GSI1SK: strs[3], Version: version, TTL: ttl}
	if len(v) > 0 {
		it.Data = append([]byte(nil), v...)
	}
	return it, nil
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
