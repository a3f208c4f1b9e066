package sspi_test

import "sync"

// Live package state, across every engine of the test binary, for leak
// checks.
var (
	fakeMu   sync.Mutex
	fakeLSAs []*fakeLSA
)

func trackFake(f *fakeLSA) *fakeLSA {
	fakeMu.Lock()
	fakeLSAs = append(fakeLSAs, f)
	fakeMu.Unlock()
	return f
}

func liveFakeContexts() int {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	n := 0
	for _, f := range fakeLSAs {
		n += f.ctxs.Len()
	}
	return n
}

func liveFakeCreds() int {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	n := 0
	for _, f := range fakeLSAs {
		n += f.creds.Len()
	}
	return n
}
