package krb5

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	gkpac "github.com/jcmturner/gokrb5/v8/pac"
)

// ndrWriter encodes NDR (MS-RPCE 2.2.6) for the tests' PACs: an
// independent writer of the structures parseLogonInfo reads.
type ndrWriter struct {
	b   []byte
	ref uint32
}

func (w *ndrWriter) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}
func (w *ndrWriter) u8(v uint8)   { w.b = append(w.b, v) }
func (w *ndrWriter) u16(v uint16) { w.align(2); w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *ndrWriter) u32(v uint32) { w.align(4); w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *ndrWriter) ptr(present bool) {
	if !present {
		w.u32(0)
		return
	}
	w.ref += 4
	w.u32(0x20000 + w.ref)
}
func (w *ndrWriter) filetime(t time.Time) {
	v := uint64(0x7fffffffffffffff)
	if !t.IsZero() {
		v = uint64(t.UnixNano()/100) + 116444736000000000
	}
	w.u32(uint32(v))
	w.u32(uint32(v >> 32))
}
func (w *ndrWriter) ustrHeader(s string) {
	n := uint16(len(utf16.Encode([]rune(s))) * 2)
	w.u16(n)
	w.u16(n)
	w.ptr(s != "")
}
func (w *ndrWriter) ustrBody(s string) {
	if s == "" {
		return
	}
	u := utf16.Encode([]rune(s))
	w.u32(uint32(len(u)))
	w.u32(0)
	w.u32(uint32(len(u)))
	for _, c := range u {
		w.u16(c)
	}
}
func (w *ndrWriter) sid(s SID) {
	w.u32(uint32(len(s.SubAuthorities)))
	w.u8(s.Revision)
	w.u8(uint8(len(s.SubAuthorities)))
	for i := 5; i >= 0; i-- {
		w.u8(uint8(s.Authority >> (8 * i)))
	}
	for _, a := range s.SubAuthorities {
		w.u32(a)
	}
}

// marshalLogonInfo encodes KERB_VALIDATION_INFO with its NDR headers.
func marshalLogonInfo(l *LogonInfo) []byte {
	w := &ndrWriter{}
	w.ptr(true)
	w.filetime(l.LogonTime)
	for range 5 {
		w.filetime(time.Time{})
	}
	names := []string{l.EffectiveName, l.FullName, "", "", "", ""}
	for _, s := range names {
		w.ustrHeader(s)
	}
	w.u16(3) // LogonCount
	w.u16(0)
	w.u32(l.UserID)
	w.u32(l.PrimaryGroupID)
	w.u32(uint32(len(l.Groups)))
	w.ptr(l.Groups != nil)
	w.u32(l.UserFlags)
	w.b = append(w.b, make([]byte, 16)...)
	w.ustrHeader(l.LogonServer)
	w.ustrHeader(l.LogonDomainName)
	w.ptr(true)
	w.u32(0)
	w.u32(0)
	w.u32(l.UserAccountControl)
	w.u32(0)
	w.filetime(time.Time{})
	w.filetime(time.Time{})
	w.u32(0)
	w.u32(0)
	w.u32(uint32(len(l.ExtraSIDs)))
	w.ptr(l.ExtraSIDs != nil)
	w.ptr(l.ResourceDomainID != nil)
	w.u32(uint32(len(l.ResourceGroups)))
	w.ptr(l.ResourceGroups != nil)
	for _, s := range names {
		w.ustrBody(s)
	}
	groups := func(g []GroupMembership) {
		w.u32(uint32(len(g)))
		for _, m := range g {
			w.u32(m.RelativeID)
			w.u32(m.Attributes)
		}
	}
	if l.Groups != nil {
		groups(l.Groups)
	}
	w.ustrBody(l.LogonServer)
	w.ustrBody(l.LogonDomainName)
	w.sid(l.LogonDomainID)
	if l.ExtraSIDs != nil {
		w.u32(uint32(len(l.ExtraSIDs)))
		for _, e := range l.ExtraSIDs {
			w.ptr(true)
			w.u32(e.Attributes)
		}
		for _, e := range l.ExtraSIDs {
			w.sid(e.SID)
		}
	}
	if l.ResourceDomainID != nil {
		w.sid(*l.ResourceDomainID)
	}
	if l.ResourceGroups != nil {
		groups(l.ResourceGroups)
	}
	w.align(8)
	hdr := []byte{1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc}
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(w.b)))
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	return append(hdr, w.b...)
}

func clientInfo(name string, t time.Time) []byte {
	v := uint64(t.UnixNano()/100) + 116444736000000000
	b := binary.LittleEndian.AppendUint64(nil, v)
	u := utf16.Encode([]rune(name))
	b = binary.LittleEndian.AppendUint16(b, uint16(2*len(u)))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

type pacBuf struct {
	typ  uint32
	data []byte
}

// marshalPAC lays buffers out as a KDC does (8-byte aligned, in order),
// then signs it: the server signature with key, the KDC signature with
// another key.
func marshalPAC(t testing.TB, bufs []pacBuf, key Key) []byte {
	t.Helper()
	off := 8 + 16*len(bufs)
	var hdr, body []byte
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(bufs)))
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	offs := map[uint32]int{}
	for _, b := range bufs {
		for (off+len(body))%8 != 0 {
			body = append(body, 0)
		}
		at := off + len(body)
		offs[b.typ] = at
		hdr = binary.LittleEndian.AppendUint32(hdr, b.typ)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(b.data)))
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(at))
		body = append(body, b.data...)
	}
	pac := append(hdr, body...)
	if at, ok := offs[pacServerChecksum]; ok && binary.LittleEndian.Uint32(pac[at:]) == uint32(int32(checksumForEType[key.EType()])) {
		_, sum, err := key.checksum(usagePACChecksum, pac)
		if err != nil {
			t.Fatal(err)
		}
		copy(pac[at+4:], sum)
		if kat, ok := offs[pacPrivSvrChecksum]; ok {
			copy(pac[kat+4:], sum) // not verifiable here; any bytes do
		}
	}
	return pac
}

func sigBuf(typ uint32, ct ChecksumType) pacBuf {
	b := binary.LittleEndian.AppendUint32(nil, uint32(int32(ct)))
	return pacBuf{typ, append(b, make([]byte, pacSigLen(ct))...)}
}

func testPACKey(t testing.TB) Key {
	k, err := NewKey(AES256SHA1, bytes.Repeat([]byte{0x5a}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	testDomainSID = SID{Revision: 1, Authority: 5, SubAuthorities: []uint32{21, 1111, 2222, 3333}}
	testResSID    = SID{Revision: 1, Authority: 5, SubAuthorities: []uint32{21, 4444, 5555, 6666}}
	testAuthTime  = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
)

func testLogonInfo() *LogonInfo {
	res := testResSID
	return &LogonInfo{
		LogonTime: testAuthTime, EffectiveName: "alice", FullName: "Alice Liddell",
		LogonServer: "DC1", LogonDomainName: "EXAMPLE",
		UserID: 1105, PrimaryGroupID: 513,
		Groups:             []GroupMembership{{513, 7}, {512, 7}, {1200, 7}},
		UserFlags:          0x20,
		UserAccountControl: 0x10,
		LogonDomainID:      testDomainSID,
		ExtraSIDs:          []SIDAndAttributes{{SID{1, 5, []uint32{32, 544}}, 7}, {SID{1, 18, []uint32{1}}, 7}},
		ResourceDomainID:   &res,
		ResourceGroups:     []GroupMembership{{1300, 0x20000007}},
	}
}

// testPACs returns PACs as AD issues them (logon info, client info,
// UPN_DNS_INFO, two signatures) and as MIT 1.20 does (client info and
// signatures only), signed with k.
func testPACs(t testing.TB, k Key) [][]byte {
	upn := func() []byte {
		u := utf16.Encode([]rune("alice@example.com"))
		d := utf16.Encode([]rune("EXAMPLE.COM"))
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b[0:], uint16(2*len(u)))
		binary.LittleEndian.PutUint16(b[2:], 16)
		binary.LittleEndian.PutUint16(b[4:], uint16(2*len(d)))
		binary.LittleEndian.PutUint16(b[6:], uint16(16+2*len(u)))
		for _, c := range append(u, d...) {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		return b
	}()
	ad := marshalPAC(t, []pacBuf{
		{pacLogonInfo, marshalLogonInfo(testLogonInfo())},
		{pacClientInfo, clientInfo("alice", testAuthTime)},
		{pacUPNDNSInfo, upn},
		sigBuf(pacServerChecksum, ChecksumHMACSHA1AES256),
		sigBuf(pacPrivSvrChecksum, ChecksumHMACSHA1AES256),
	}, k)
	mit := marshalPAC(t, []pacBuf{
		{pacClientInfo, clientInfo("alice", testAuthTime)},
		sigBuf(pacTicketChecksum, ChecksumHMACSHA1AES256),
		sigBuf(pacServerChecksum, ChecksumHMACSHA1AES256),
		sigBuf(pacPrivSvrChecksum, ChecksumHMACSHA1AES256),
	}, k)
	return [][]byte{ad, mit}
}

func TestPACParse(t *testing.T) {
	k := testPACKey(t)
	pacs := testPACs(t, k)
	p, err := ParsePAC(pacs[0], k)
	if err != nil {
		t.Fatal(err)
	}
	l := p.LogonInfo
	want := testLogonInfo()
	if l == nil || l.EffectiveName != "alice" || l.FullName != want.FullName || l.LogonDomainName != "EXAMPLE" ||
		l.LogonServer != "DC1" || l.UserID != 1105 || !l.LogonTime.Equal(testAuthTime) ||
		p.ClientName != "alice" || !p.ClientTime.Equal(testAuthTime) || p.UPN != "alice@example.com" || p.DNSDomain != "EXAMPLE.COM" {
		t.Fatalf("parsed %+v / %+v", p, l)
	}
	if got := l.UserSID().String(); got != "S-1-5-21-1111-2222-3333-1105" {
		t.Errorf("user SID %s", got)
	}
	var groups []string
	for _, s := range l.GroupSIDs() {
		groups = append(groups, s.String())
	}
	wantGroups := []string{"S-1-5-21-1111-2222-3333-513", "S-1-5-21-1111-2222-3333-512", "S-1-5-21-1111-2222-3333-1200",
		"S-1-5-32-544", "S-1-18-1", "S-1-5-21-4444-5555-6666-1300"}
	if !slices.Equal(groups, wantGroups) {
		t.Errorf("groups %v", groups)
	}
	// gokrb5's NDR decoder, an independent implementation, reads the same.
	var gk gkpac.KerbValidationInfo
	if err := gk.Unmarshal(marshalLogonInfo(want)); err != nil {
		t.Fatal(err)
	}
	if gk.EffectiveName.Value != l.EffectiveName || gk.UserID != l.UserID || gk.LogonDomainID.String() != l.LogonDomainID.String() ||
		!slices.Equal(gk.GetGroupMembershipSIDs(), groups) {
		t.Errorf("gokrb5 reads %q %d %s %v", gk.EffectiveName.Value, gk.UserID, gk.LogonDomainID.String(), gk.GetGroupMembershipSIDs())
	}
	// MIT's shape: no logon info.
	p, err = ParsePAC(pacs[1], k)
	if err != nil || p.LogonInfo != nil || p.ClientName != "alice" {
		t.Fatalf("MIT-like PAC: %+v %v", p, err)
	}
}

func TestPACRefused(t *testing.T) {
	k := testPACKey(t)
	good := testPACs(t, k)[1]
	other, _ := NewKey(AES256SHA1, bytes.Repeat([]byte{1}, 32))
	ci := pacBuf{pacClientInfo, clientInfo("alice", testAuthTime)}
	srv := sigBuf(pacServerChecksum, ChecksumHMACSHA1AES256)
	kdc := sigBuf(pacPrivSvrChecksum, ChecksumHMACSHA1AES256)
	put := func(b []byte, at int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}
	cases := map[string]struct {
		pac []byte
		key Key
		msg string
	}{
		"another key":              {good, other, "server signature"},
		"cBuffers 0xFFFFFFFF":      {put(good, 0, 0xffffffff), k, "buffers"},
		"cBuffers 0":               {put(good, 0, 0), k, "buffers"},
		"cBuffers one too many":    {put(good, 0, 5), k, ""},
		"version 1":                {put(good, 4, 1), k, "version"},
		"offset misaligned":        {put(good, 8+8, binary.LittleEndian.Uint32(good[16:])+4), k, "misaligned"},
		"offset into the header":   {put(good, 8+8, 8), k, "outside"},
		"size past the end":        {put(good, 8+4, 1<<20), k, "outside"},
		"offset past the end":      {put(good, 8+8, 1<<30), k, "outside"},
		"buffers overlap":          {put(good, 8+16+8, binary.LittleEndian.Uint32(good[16:])), k, "overlap"},
		"no KDC signature":         {marshalPAC(t, []pacBuf{ci, srv}, k), k, "lacks"},
		"no server signature":      {marshalPAC(t, []pacBuf{ci, kdc}, k), k, "lacks"},
		"no client info":           {marshalPAC(t, []pacBuf{srv, kdc}, k), k, "PAC_CLIENT_INFO"},
		"two server signatures":    {marshalPAC(t, []pacBuf{ci, srv, srv, kdc}, k), k, "two buffers"},
		"unkeyed MD5 signature":    {marshalPAC(t, []pacBuf{ci, {pacServerChecksum, append(binary.LittleEndian.AppendUint32(nil, 7), make([]byte, 16)...)}, kdc}, k), k, "unkeyed"},
		"empty signature":          {marshalPAC(t, []pacBuf{ci, {pacServerChecksum, binary.LittleEndian.AppendUint32(nil, uint32(ChecksumHMACSHA1AES256))}, kdc}, k), k, "bytes"},
		"signature type of aes128": {marshalPAC(t, []pacBuf{ci, sigBuf(pacServerChecksum, ChecksumHMACSHA1AES128), kdc}, k), k, "does not belong"},
		"client info name odd":     {marshalPAC(t, []pacBuf{{pacClientInfo, append(clientInfo("alice", testAuthTime), 0)}, srv, kdc}, k), k, "PAC_CLIENT_INFO"},
		"short":                    {good[:7], k, "shorter"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePAC(tc.pac, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %q", err, tc.msg)
			}
		})
	}
	// Every byte of the PAC counts (the server signature covers it all,
	// padding included), except the KDC signature's, which needs the
	// krbtgt key.
	if _, err := ParsePAC(good, k); err != nil {
		t.Fatal(err)
	}
	covered := make([]bool, len(good))
	for i := range covered {
		covered[i] = true
	}
	for i := range 4 {
		e := good[8+16*i:]
		typ, size, off := binary.LittleEndian.Uint32(e), int(binary.LittleEndian.Uint32(e[4:])), int(binary.LittleEndian.Uint64(e[8:]))
		if typ == pacPrivSvrChecksum {
			for j := off + 4; j < off+size; j++ {
				covered[j] = false
			}
		}
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		_, err := ParsePAC(bad, k)
		if covered[i] && err == nil {
			t.Errorf("byte %d flipped: accepted", i)
		}
		if !covered[i] && err != nil {
			t.Errorf("byte %d flipped (KDC signature): %v", i, err)
		}
	}
}

func TestLogonInfoRefused(t *testing.T) {
	good := marshalLogonInfo(testLogonInfo())
	if _, err := parseLogonInfo(good); err != nil {
		t.Fatal(err)
	}
	// Every truncation fails cleanly.
	for n := range len(good) - 8 {
		if _, err := parseLogonInfo(good[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	l := testLogonInfo()
	l.Groups = make([]GroupMembership, maxNDRArray+1)
	if _, err := parseLogonInfo(marshalLogonInfo(l)); err == nil {
		t.Fatal("too many groups accepted")
	}
	// A group count that disagrees with its array.
	bad := bytes.Clone(good)
	// GroupCount is the ULONG after UserID and PrimaryGroupID: 16+4+48+48+4+8 bytes in.
	binary.LittleEndian.PutUint32(bad[16+4+48+48+4+8:], 2)
	if _, err := parseLogonInfo(bad); err == nil {
		t.Fatal("group count mismatch accepted")
	}
}

// TestPACLive checks the PAC of a real MIT 1.20 ticket: verified with
// the service key; each byte of its server signature flipped, re-sealed
// into the ticket, is refused by the acceptor.
func TestPACLive(t *testing.T) {
	r := realm(t)
	cred := r.serviceTicket(t, r.tgt(t), r.Service)
	kt := r.serviceKeytab(t)
	tk, enc, key := openTicket(t, kt, cred.Ticket)
	raw, err := findPAC(enc.AuthData)
	if err != nil || raw == nil {
		t.Skipf("no PAC in MIT's ticket (%v)", err)
	}
	p, err := ParsePAC(raw, key)
	if err != nil {
		t.Fatal(err)
	}
	var srvOff int
	for i := range int(binary.LittleEndian.Uint32(raw)) {
		e := raw[8+16*i:]
		if binary.LittleEndian.Uint32(e) == pacServerChecksum {
			srvOff = int(binary.LittleEndian.Uint64(e[8:]))
		}
	}
	n := pacSigLen(p.ServerChecksumType)
	for i := srvOff + 4; i < srvOff+4+n; i++ {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x80
		enc2 := enc
		enc2.AuthData = []typedData{{Type: adIfRelevant, Data: marshalAuthData([]typedData{{Type: adWin2kPAC, Data: bad}})}}
		forged := *cred
		forged.Ticket = sealTicket(t, tk, &enc2, key)
		req, _ := NewAPReq(&forged, APReqOptions{})
		_, err := r.acceptor(t).VerifyAPReq(context.Background(), req.Message)
		if !strings.Contains(err.Error(), "PAC") {
			t.Fatalf("server signature byte %d flipped: %v", i-srvOff-4, err)
		}
	}
	// A PAC outside AD-IF-RELEVANT, and two PACs, are refused too.
	for name, ad := range map[string][]typedData{
		"bare":    {{Type: adWin2kPAC, Data: raw}},
		"two":     {{Type: adIfRelevant, Data: marshalAuthData([]typedData{{Type: adWin2kPAC, Data: raw}, {Type: adWin2kPAC, Data: raw}})}},
		"for bob": {{Type: adIfRelevant, Data: marshalAuthData([]typedData{{Type: adWin2kPAC, Data: raw}})}},
	} {
		enc2 := enc
		enc2.AuthData = ad
		if name == "for bob" {
			enc2.Client.Components = []string{"bob"}
		}
		forged := *cred
		forged.Ticket = sealTicket(t, tk, &enc2, key)
		forged.Client = enc2.Client
		req, _ := NewAPReq(&forged, APReqOptions{})
		if _, err := r.acceptor(t).VerifyAPReq(context.Background(), req.Message); err == nil || !strings.Contains(err.Error(), "PAC") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
