package metadata

import "github.com/openagg/openagg/internal/fault"

// Kinds of failure of metadata (api/obperr maps them to OBP codes). The
// message of an ErrInvalid says what is wrong with the value ("narrative
// must not be empty."); the others' messages are complete sentences.
var (
	// ErrInvalid: a value is malformed (empty text, coordinates out of
	// range).
	ErrInvalid = fault.New(fault.Invalid, "metadata: invalid value")
	// ErrTooLong: a text is longer than metadata keeps.
	ErrTooLong = fault.New(fault.Invalid, "metadata: value too long")
	// ErrTooMuch: the metadata would not fit in its item.
	ErrTooMuch = fault.New(fault.Invalid, "metadata: too much metadata")
	// ErrNotFound: the comment, tag, image or where tag named does not
	// exist.
	ErrNotFound = fault.New(fault.NotFound, "metadata: not found")
	// ErrNotAuthor: only an item's author or an owner of the account may
	// delete it.
	ErrNotAuthor = fault.New(fault.Forbidden, "metadata: not the author")
	// ErrConflict: concurrent changes outlived the retries.
	ErrConflict = fault.New(fault.Conflict, "metadata: changed concurrently")
)

// conflictMessage is the message of ErrConflict.
const conflictMessage = "The resource was changed by another request. Please retry."
