package secpkg

import (
	"sort"
	"strings"
	"sync"
)

var (
	registryMu sync.RWMutex
	registry   = map[string]registered{}
)

type registered struct {
	name string
	pkg  Package
	seq  int
}

// Register makes a security package available under name, the way a DLL
// listed in the "Security Packages" registry value is: the LSA loads
// registered packages that its configuration enables, and application
// processes find the user-mode half here. Names are compared without
// regard to case. Register panics if pkg is nil or the name is taken; call
// it from an init function (packages/all does, for the built-in packages).
func Register(name string, pkg Package) {
	if pkg == nil {
		panic("secpkg: Register package is nil")
	}
	if name == "" {
		panic("secpkg: Register with an empty name")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	key := strings.ToLower(name)
	if _, dup := registry[key]; dup {
		panic("secpkg: Register called twice for package " + name)
	}
	registry[key] = registered{name: name, pkg: pkg, seq: len(registry)}
}

// Lookup returns the package registered under name (any case) and the
// name as registered.
func Lookup(name string) (pkg Package, canonical string, ok bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	r, ok := registry[strings.ToLower(name)]
	return r.pkg, r.name, ok
}

// Registered returns the names of the registered packages in the order
// they were registered.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	rs := make([]registered, 0, len(registry))
	for _, r := range registry {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].seq < rs[j].seq })
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.name
	}
	return names
}
