package fault

import (
	"errors"
	"fmt"
	"testing"
)

var (
	errGone = New(NotFound, "test: gone")
	errBusy = New(Conflict, "test: busy")
)

type detail struct{ n int }

func (d *detail) Error() string { return fmt.Sprintf("detail %d", d.n) }

func TestOf(t *testing.T) {
	cause := &detail{n: 7}
	tests := []struct {
		name    string
		err     error
		kind    *Kind
		message string
		ok      bool
	}{
		{"nil", nil, nil, "", false},
		{"plain error", errors.New("disk full"), nil, "", false},
		{"bare sentinel", errGone, errGone, "test: gone", true},
		{"wrapped sentinel", fmt.Errorf("load x: %w", errGone), errGone, "test: gone", true},
		{"errorf", Errorf(errGone, "item %q not found", "a"), errGone, `item "a" not found`, true},
		{"wrapped errorf", fmt.Errorf("ctx: %w", Errorf(errBusy, "busy now")), errBusy, "busy now", true},
		{"outermost wins", Wrap(errBusy, Errorf(errGone, "inner"), "outer"), errBusy, "outer", true},
		{"joined", errors.Join(errors.New("x"), Errorf(errGone, "in join")), errGone, "in join", true},
		{"joined without kind", errors.Join(errors.New("x"), errors.New("y")), nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, msg, ok := Of(tc.err)
			if kind != tc.kind || msg != tc.message || ok != tc.ok {
				t.Fatalf("Of = %v, %q, %v; want %v, %q, %v", kind, msg, ok, tc.kind, tc.message, tc.ok)
			}
		})
	}
	// errors.Is and errors.As see through a failure to its kind and cause.
	err := fmt.Errorf("refresh: %w", Wrap(errBusy, cause, "try later"))
	if !errors.Is(err, errBusy) || errors.Is(err, errGone) {
		t.Fatal("errors.Is does not match the kind")
	}
	var d *detail
	if !errors.As(err, &d) || d.n != 7 {
		t.Fatal("errors.As does not reach the cause")
	}
	if got := err.Error(); got != "refresh: try later: detail 7" {
		t.Fatalf("Error() = %q", got)
	}
	if ClassOf(err) != Conflict || !IsClass(err, Conflict) || ClassOf(errors.New("x")) != Internal {
		t.Fatal("ClassOf")
	}
}

func TestTable(t *testing.T) {
	tab := Table[int]{Kinds: map[*Kind]int{errGone: 404}, Classes: map[Class]int{Conflict: 409}}
	tests := []struct {
		name string
		err  error
		want int
		ok   bool
	}{
		{"own row", Errorf(errGone, "x"), 404, true},
		{"class row", errBusy, 409, true},
		{"no row", New(Forbidden, "test: no"), 0, false},
		{"internal", errors.New("boom"), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, ok := tab.Lookup(tc.err)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Lookup = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if _, ok := tab.Kinds[errGone]; !ok {
		t.Fatal("own row")
	}
}
