package lsarpc

import (
	"bytes"
	"reflect"
	"testing"
)

// hotTypes are the bodies with a hand-written encoding (codec_messages.go),
// each with a zero value to decode into.
var hotTypes = map[string]func() any{
	"handle":     func() any { return new(handleBody) },
	"initialize": func() any { return new(initializeRequest) },
	"accept":     func() any { return new(acceptRequest) },
	"context":    func() any { return new(contextReply) },
	"message":    func() any { return new(messageRequest) },
	"messageOut": func() any { return new(messageReply) },
}

// TestCodecAgreesWithLibrary checks the hand-written codec against
// github.com/fxamacker/cbor on every golden frame: the same bytes from
// the same values, the same values from the same bytes.
func TestCodecAgreesWithLibrary(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			want := gc.encode(t) // encMode
			var got []byte
			var err error
			if gc.op != "" {
				got, err = appendRequest(nil, gc.id, gc.op, gc.noReply, gc.body)
			} else {
				got, err = appendReply(nil, gc.id, gc.err, gc.body)
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("hand-written encoding differs (%v):\n got  %x\n want %x", err, got, want)
			}
			if gc.op != "" {
				var lib request
				if err := decMode.Unmarshal(want[4:], &lib); err != nil {
					t.Fatal(err)
				}
				hand, err := parseRequest(want[4:])
				if err != nil || !reflect.DeepEqual(*hand, lib) {
					t.Fatalf("parseRequest = %+v, %v; the library says %+v", hand, err, lib)
				}
			} else {
				var lib reply
				if err := decMode.Unmarshal(want[4:], &lib); err != nil {
					t.Fatal(err)
				}
				hand, err := parseReply(want[4:])
				if err != nil || !reflect.DeepEqual(*hand, lib) {
					t.Fatalf("parseReply = %+v, %v; the library says %+v", hand, err, lib)
				}
			}
			if _, ok := gc.body.(wireDecoder); !ok {
				return
			}
			body, _ := encMode.Marshal(gc.body)
			lib := reflect.New(reflect.TypeOf(gc.body).Elem()).Interface()
			hand := reflect.New(reflect.TypeOf(gc.body).Elem()).Interface()
			if err := decMode.Unmarshal(body, lib); err != nil {
				t.Fatal(err)
			}
			if err := decodeBody(body, hand); err != nil || !reflect.DeepEqual(hand, lib) {
				t.Fatalf("hand-written decoding: %+v, %v; the library says %+v", hand, err, lib)
			}
		})
	}
}

// FuzzCodec decodes arbitrary bytes as each hand-decoded body with both
// decoders: whatever the hand-written one accepts, the library accepts as
// the same value, and both encode that value to the same bytes.
func FuzzCodec(f *testing.F) {
	for _, gc := range goldenCases() {
		if gc.body != nil {
			b, _ := encMode.Marshal(gc.body)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, zero := range hotTypes {
			hand, lib := zero(), zero()
			if err := decodeBody(b, hand); err != nil {
				continue
			}
			if err := decMode.Unmarshal(b, lib); err != nil {
				t.Fatalf("%s: the hand-written decoder accepts what the library refuses (%v): %x", name, err, b)
			}
			if !reflect.DeepEqual(hand, lib) {
				t.Fatalf("%s: decoded differently:\n hand %+v\n lib  %+v", name, hand, lib)
			}
			want, err := encMode.Marshal(lib)
			if err != nil {
				continue // a time outside RFC 3339's years: the library will not encode it
			}
			if got := hand.(wireEncoder).appendCBOR(nil); !bytes.Equal(got, want) {
				t.Fatalf("%s: encoded differently:\n hand %x\n lib  %x", name, got, want)
			}
		}
	})
}
