package lsarpc

import (
	"reflect"
	"testing"
)

// BenchmarkCodec compares the hand-written codec with the library on the
// bodies of a handshake's legs, which every call carries.
//
//	go test -run '^$' -bench Codec ./lsa/lsarpc
func BenchmarkCodec(b *testing.B) {
	for _, gc := range goldenCases() {
		if _, ok := gc.body.(wireDecoder); !ok || gc.op == "" && gc.name != "InitializeContext.reply" {
			continue
		}
		body, _ := encMode.Marshal(gc.body)
		typ := reflect.TypeOf(gc.body).Elem()
		b.Run(gc.name+"/Encode/Library", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				encMode.Marshal(gc.body)
			}
		})
		b.Run(gc.name+"/Encode/Hand", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2048)
			for b.Loop() {
				buf = gc.body.(wireEncoder).appendCBOR(buf[:0])
			}
		})
		b.Run(gc.name+"/Decode/Library", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				decMode.Unmarshal(body, reflect.New(typ).Interface())
			}
		})
		b.Run(gc.name+"/Decode/Hand", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				decodeBody(body, reflect.New(typ).Interface())
			}
		})
	}
}
