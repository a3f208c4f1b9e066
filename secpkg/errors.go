package secpkg

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a failed SSPI call: a SEC_E_* [Status] with the detail that
// explains it to the local caller. The detail is for logs and for the
// application; it never contains a secret, and packages must keep it free
// of anything that distinguishes an unknown user from a wrong password.
//
// errors.Is(err, StatusX) reports whether err carries code X, and
// errors.As(err, &e) retrieves the *Error. [StatusOf] extracts the code.
type Error struct {
	Status Status // the SEC_E_* code
	Detail string // lower-case description, "pkg: what went wrong"
	Err    error  // optional underlying cause
}

// Errorf returns an *Error with the given status and a detail formatted
// like fmt.Errorf (a %w verb sets Err).
func Errorf(st Status, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Status: st, Detail: err.Error(), Err: errors.Unwrap(err)}
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Status.String()
	}
	return e.Detail + " (" + e.Status.String() + ")"
}

// Unwrap returns the status and, if present, the underlying cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Status, e.Err}
	}
	return []error{e.Status}
}

// StatusOf returns the SEC_E_* code that err carries: the Status of the
// first *Error or Status in its chain, StatusOK for a nil error and
// StatusInternalError for an error that carries no code at all.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var s Status
	if errors.As(err, &s) {
		return s
	}
	return StatusInternalError
}

// AsError converts err into an *Error, keeping its status (or giving it
// StatusInternalError) and its whole message as the detail. The LSA uses it
// so that every failure that crosses the LSA boundary carries a code.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e == err {
		return e
	}
	st := StatusOf(err)
	if s, ok := err.(Status); ok && s == st {
		return &Error{Status: st}
	}
	// The message of a wrapped *Error already names the status; keep it
	// once, at the end.
	detail := strings.ReplaceAll(err.Error(), " ("+st.String()+")", "")
	return &Error{Status: st, Detail: detail, Err: err}
}
