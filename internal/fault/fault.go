// Package fault is how domain packages report failures without knowing any
// API dialect: each domain declares its kinds of failure as sentinels
// (party.ErrNotFound, connection.ErrRefreshTooEarly, ...) made with New,
// and returns them wrapped with a message that is safe to show to the
// caller (Errorf, Wrap). Callers branch with errors.Is on the sentinel;
// each API dialect maps a kind to its wire status and code in one table
// (api/aggregation, api/obperr, api/finapi) and shows the message.
//
// It is the go-cloud gcerrors idea with the codes owned by the domains: a
// Class says what sort of failure a kind is (not found, invalid, conflict,
// ...), so a dialect can also answer kinds it has no row for in a sensible
// way, but every kind a dialect can meet has its own row (a test checks).
package fault

import "fmt"

// Class is the sort of failure a kind is, whatever domain declared it.
type Class uint8

// The classes. Internal is the zero value: an error that is not a domain
// failure (a store or encoding error) is internal, its text never shown.
const (
	Internal        Class = iota
	Invalid               // the request is wrong; fixing it may succeed
	NotFound              // what the request names does not exist (for this caller)
	Exists                // what the request would create already exists
	Conflict              // the current state does not allow it (busy, changed, too early)
	Forbidden             // the caller may not do it
	Unauthenticated       // the caller is not (validly) identified
	Unavailable           // an upstream (a provider) failed; retry later
	Rejected              // an upstream (a bank, a provider) refused the request
	Busy                  // the service itself is overloaded (its database throttles); retry soon
)

var classNames = [...]string{"internal", "invalid", "not found", "exists", "conflict", "forbidden", "unauthenticated", "unavailable", "rejected", "busy"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// Kind is a sentinel: one kind of failure of one domain. Make them with New
// as package-level variables; compare with errors.Is.
type Kind struct {
	class Class
	name  string
}

// New declares a kind of failure; name reads as "<domain>: <what>", e.g.
// "party: not found".
func New(class Class, name string) *Kind { return &Kind{class: class, name: name} }

func (k *Kind) Error() string { return k.name }

// Class is the kind's class.
func (k *Kind) Class() Class { return k.class }

// Error is a failure of a known kind with a message safe to show to the
// caller. Err keeps the cause for logs (and for errors.As, e.g. a typed
// detail a dialect shows as extra fields); it is never shown.
type Error struct {
	Kind    *Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Is makes errors.Is(err, kind) true.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a failure of kind with a formatted message.
func Errorf(kind *Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a failure of kind caused by err, with a formatted message.
func Wrap(kind *Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// Of finds the outermost failure of a known kind in err's chain: its kind
// and the message to show. A bare sentinel shows its name. ok is false for
// anything else (an internal error).
func Of(err error) (kind *Kind, message string, ok bool) {
	for e := err; e != nil; {
		switch v := e.(type) {
		case *Error:
			return v.Kind, v.Message, true
		case *Kind:
			return v, v.name, true
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if k, m, ok := Of(inner); ok {
					return k, m, true
				}
			}
			return nil, "", false
		default:
			return nil, "", false
		}
	}
	return nil, "", false
}

// ClassOf is the class of err's failure kind; Internal when it has none.
func ClassOf(err error) Class {
	if k, _, ok := Of(err); ok {
		return k.class
	}
	return Internal
}

// IsClass reports whether err is a failure of that class.
func IsClass(err error, c Class) bool { return ClassOf(err) == c }

// Table is one dialect's mapping of failures to its wire form W (a status
// and a code, say): a row per kind it can meet, and a row per class for
// kinds it has none for. Build it once; it is read-only afterwards.
type Table[W any] struct {
	Kinds   map[*Kind]W
	Classes map[Class]W
}

// Lookup maps err: the kind's row, else its class's row. ok is false for
// an internal error (no kind) and for a class without a row: the dialect
// answers those as its internal error, logged, without detail.
func (t Table[W]) Lookup(err error) (w W, message string, ok bool) {
	kind, message, found := Of(err)
	if !found {
		return w, "", false
	}
	if w, ok := t.Kinds[kind]; ok {
		return w, message, true
	}
	w, ok = t.Classes[kind.class]
	return w, message, ok
}
