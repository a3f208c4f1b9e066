// Package lsarpc is the local protocol between applications and the LSA
// daemon (lsad): length-prefixed, deterministic CBOR over a Unix socket,
// with a version handshake, request ids so that many calls are in flight
// on one connection, decode limits, and typed errors that carry a SEC_E_*
// status and a message (never a secret). doc/lsa-protocol.md specifies
// every message for clients in other languages; testdata/frames pins
// their bytes.
//
// [Client] implements lsa.Conn, so the provider in package sspi runs the
// same code against the daemon as against the embedded engine. [Server]
// serves an lsa.Authority (the engine), attributing every call to the
// caller's uid, gid and pid as the kernel reports them (SO_PEERCRED,
// LOCAL_PEERCRED), never as the message claims, and bounding what each
// uid may make it hold ([Limits]).
//
// The wire types (messages.go) are this package's own: the lsa and secpkg
// types convert to and from them, so that renaming a Go field cannot
// change the wire.
package lsarpc

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/opensspi/sspi/secpkg"
)

// Version is the protocol version this package speaks. Version 1 carried
// some bodies under the Go field names of the lsa types; version 2 gives
// every message its own snake_case keys (doc/lsa-protocol.md).
const Version = 2

// MaxFrame bounds a frame's payload (1 MiB, as gssproxy bounds its RPCs).
// A larger length prefix ends the connection before anything is allocated.
const MaxFrame = 1 << 20

// Operation names of version 1: one per lsa.Conn method.
const (
	opHello              = "Hello"
	opEnumeratePackages  = "EnumeratePackages"
	opAcquireCredentials = "AcquireCredentials"
	opQueryCredentials   = "QueryCredentials"
	opFreeCredentials    = "FreeCredentials"
	opInitializeContext  = "InitializeContext"
	opAcceptContext      = "AcceptContext"
	opDeleteContext      = "DeleteContext"
	opApplyControlToken  = "ApplyControlToken"
	opProtectMessage     = "ProtectMessage"
	opQuerySessionKey    = "QuerySessionKey"
	opCallPackage        = "CallPackage"
	opExportContext      = "ExportContext"
	opImportContext      = "ImportContext"
	opLogonUser          = "LogonUser"
	opLogonSessions      = "LogonSessions"
	opLogoff             = "Logoff"

	// Account administration (lsa.Admin); the policy's admin right.
	opAddAccount    = "AddAccount"
	opSetPassword   = "SetPassword"
	opDeleteAccount = "DeleteAccount"
	opListAccounts  = "ListAccounts"
	opUnlockAccount = "UnlockAccount"

	// Registration (lsa.Registration): any caller, authorized by the
	// LSA (the admin right, or a registration code). Codes are made
	// with the admin right (lsa.Admin).
	opBeginRegistration      = "BeginRegistration"
	opFinishRegistration     = "FinishRegistration"
	opCreateRegistrationCode = "CreateRegistrationCode"

	// Monitoring (lsa.Monitor); the policy's admin right.
	opStats = "Stats"
)

// allOps lists the operations after Hello, in the order of the document.
var allOps = []string{
	opEnumeratePackages, opAcquireCredentials, opQueryCredentials, opFreeCredentials,
	opInitializeContext, opAcceptContext, opDeleteContext, opApplyControlToken,
	opProtectMessage, opQuerySessionKey, opCallPackage, opExportContext, opImportContext,
	opLogonUser, opLogonSessions, opLogoff,
	opAddAccount, opSetPassword, opDeleteAccount, opUnlockAccount, opListAccounts,
	opCreateRegistrationCode, opBeginRegistration, opFinishRegistration,
	opStats,
}

// request is one call: frame payload from client to server. NoReply asks
// the server to send no reply (DeleteContext, whose answer nobody waits
// for).
type request struct {
	ID      uint64          `cbor:"id"`
	Op      string          `cbor:"op"`
	Body    cbor.RawMessage `cbor:"body,omitempty"`
	NoReply bool            `cbor:"noreply,omitzero"`
}

// reply answers the request with the same ID.
type reply struct {
	ID   uint64          `cbor:"id"`
	Err  *wireError      `cbor:"err,omitempty"`
	Body cbor.RawMessage `cbor:"body,omitempty"`
}

// wireError is a failed call: its SEC_E_* status and a message.
type wireError struct {
	Status uint32 `cbor:"status"`
	Msg    string `cbor:"msg,omitempty"`
}

func (w *wireError) err() error {
	st := secpkg.Status(w.Status)
	if !st.Failed() {
		st = secpkg.StatusInternalError
	}
	return &secpkg.Error{Status: st, Detail: w.Msg}
}

func toWireError(err error) *wireError {
	e := secpkg.AsError(err)
	return &wireError{Status: uint32(e.Status), Msg: e.Detail}
}

// hello opens a connection: the versions the client speaks.
type hello struct {
	Versions []uint32 `cbor:"versions"`
	Client   string   `cbor:"client,omitempty"`
}

// helloReply names the version chosen and the LSA instance.
type helloReply struct {
	Version uint32 `cbor:"version"`
	Server  string `cbor:"server,omitempty"`
	Epoch   uint64 `cbor:"epoch"`
	UID     uint32 `cbor:"uid"` // the caller as the server sees it
	GID     uint32 `cbor:"gid"`
	PID     int32  `cbor:"pid"`
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{
		Sort:    cbor.SortCoreDeterministic,
		Time:    cbor.TimeRFC3339NanoUTC,
		TimeTag: cbor.EncTagRequired,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      256,
		TimeTag:          cbor.DecTagRequired,
		// Keys are case-sensitive: "Handle" is not "handle".
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}
