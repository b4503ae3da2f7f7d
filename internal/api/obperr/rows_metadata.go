package obperr

import (
	"github.com/openagg/openagg/internal/fault"
	"github.com/openagg/openagg/internal/metadata"
)

// metadataRows: other-account and transaction metadata (OBP 1.2).
var metadataRows = map[*fault.Kind]Row{
	metadata.ErrInvalid:   {Status: 400, Code: CodeInvalidJSON, Text: TextInvalidJSON, Detail: true},
	metadata.ErrTooLong:   {Status: 400, Code: CodeInvalidValueLength},
	metadata.ErrTooMuch:   {Status: 400, Code: CodeTooMuchMetadata},
	metadata.ErrNotFound:  {Status: 404, Code: CodeMetadataNotFound},
	metadata.ErrNotAuthor: {Status: 403, Code: CodeNotAuthor},
	metadata.ErrConflict:  {Status: 409, Code: CodeConflict},
}
