package promptrelease

import "fmt"

// ErrorKind names what went wrong, alike in every SDK (the conformance kit checks them).
type ErrorKind string

const (
	KindRead           ErrorKind = "read"
	KindMalformed      ErrorKind = "malformed"
	KindFormat         ErrorKind = "format"
	KindHash           ErrorKind = "hash"
	KindUnsafeTemplate ErrorKind = "unsafe-template"
	KindVariables      ErrorKind = "variables"
	KindValue          ErrorKind = "value"
	KindNotPortable    ErrorKind = "not-portable"
)

// PayloadError: prompt.json or canary.json is missing, unreadable, of an unknown format,
// unsafe, or fails its hash check.
type PayloadError struct {
	Kind    ErrorKind
	Message string
}

func (e *PayloadError) Error() string { return e.Message }

// RenderError: variables don't fit the prompt, a value can't be rendered, or the prompt's
// format is Python-only.
type RenderError struct {
	Kind    ErrorKind
	Message string
}

func (e *RenderError) Error() string { return e.Message }

func payloadError(kind ErrorKind, format string, args ...any) *PayloadError {
	return &PayloadError{kind, fmt.Sprintf(format, args...)}
}

func renderError(kind ErrorKind, format string, args ...any) *RenderError {
	return &RenderError{kind, fmt.Sprintf(format, args...)}
}
