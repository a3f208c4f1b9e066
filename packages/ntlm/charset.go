package ntlm

import (
	"fmt"
	"strings"
)

// The character set of the names in a message (MS-NLMP 2.2.2.5, bits A
// and B of NegotiateFlags): NTLMSSP_NEGOTIATE_UNICODE means UTF-16LE; with
// it clear, NTLM_NEGOTIATE_OEM means the OEM character set; with both
// clear the message is invalid (SEC_E_INVALID_TOKEN). AV pairs are always
// UTF-16 (MS-NLMP 2.2.2.1).
//
// MS-NLMP leaves "OEM" to the system's OEM code page. This package assumes
// code page 437, the OEM code page of US-English Windows: bytes 0x00-0x7F
// are ASCII, which every OEM code page shares, so ASCII names (what every
// client we know of sends: python ntlm-auth encodes OEM names as ASCII)
// read the same under any assumption; bytes 0x80-0xFF are read as code
// page 437. Samba's default "dos charset" is code page 850, which differs
// from 437 in about 50 of those 128 characters.

// charset is the character set of a message's names.
type charset int

const (
	charsetNone    charset = iota // neither bit: invalid
	charsetUnicode                // NTLMSSP_NEGOTIATE_UNICODE: UTF-16LE
	charsetOEM                    // NTLM_NEGOTIATE_OEM alone: code page 437
)

// charsetOf reads bits A and B of f (MS-NLMP 2.2.2.5).
func charsetOf(f negotiateFlags) charset {
	switch {
	case f&flagUnicode != 0:
		return charsetUnicode
	case f&flagOEM != 0:
		return charsetOEM
	}
	return charsetNone
}

// flag is the NegotiateFlags bit that names the character set.
func (c charset) flag() negotiateFlags {
	switch c {
	case charsetUnicode:
		return flagUnicode
	case charsetOEM:
		return flagOEM
	}
	return 0
}

// errNoCharset is the error of a message with neither bit.
var errNoCharset = fmt.Errorf("ntlm: neither NTLMSSP_NEGOTIATE_UNICODE nor NTLM_NEGOTIATE_OEM is set")

// decodeName decodes a name field in character set c.
func (c charset) decodeName(b []byte) (string, error) {
	switch c {
	case charsetUnicode:
		return decodeUTF16(b)
	case charsetOEM:
		return decodeOEM(b)
	}
	return "", errNoCharset
}

// encodeName encodes a name in character set c.
func (c charset) encodeName(s string) []byte {
	if c == charsetOEM {
		return encodeOEM(s)
	}
	return encodeUTF16(s)
}

// cp437 holds the characters of code page 437 from 0x80 to 0xFF, in
// order (the Unicode mapping of Microsoft's cp437 table).
const cp437 = "ÇüéâäàåçêëèïîìÄÅ" +
	"ÉæÆôöòûùÿÖÜ¢£¥₧ƒ" +
	"áíóúñÑªº¿⌐¬½¼¡«»" +
	"░▒▓│┤╡╢╖╕╣║╗╝╜╛┐" +
	"└┴┬├─┼╞╟╚╔╩╦╠═╬╧" +
	"╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
	"αßΓπΣσµτΦΘΩδ∞φε∩" +
	"≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"

// cp437High is cp437 as runes, indexed by byte-0x80.
var cp437High = func() [128]rune {
	var t [128]rune
	i := 0
	for _, r := range cp437 {
		t[i] = r
		i++
	}
	if i != 128 {
		panic("ntlm: code page 437 table has the wrong size")
	}
	return t
}()

// decodeOEM decodes an OEM name (code page 437). Like decodeUTF16 it
// refuses NUL and names longer than maxNameBytes.
func decodeOEM(b []byte) (string, error) {
	if len(b) > maxNameBytes {
		return "", fmt.Errorf("name longer than %d bytes", maxNameBytes)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c == 0:
			return "", fmt.Errorf("NUL in OEM string")
		case c < 0x80:
			sb.WriteByte(c)
		default:
			sb.WriteRune(cp437High[c-0x80])
		}
	}
	return sb.String(), nil
}

// encodeOEM encodes s in code page 437; a character the code page lacks
// becomes '?', as WideCharToMultiByte's default character. Only the
// TargetName of an OEM CHALLENGE_MESSAGE is encoded so, which no client
// authenticates with.
func encodeOEM(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x80:
			out = append(out, byte(r))
		default:
			b := byte('?')
			for i, c := range cp437High {
				if c == r {
					b = byte(0x80 + i)
					break
				}
			}
			out = append(out, b)
		}
	}
	return out
}
