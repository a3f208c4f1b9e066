package accounts

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFoldKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"alice", "ALICE"},
		{"Émile", "éMILE"},
		{"k", "\u212a"}, // Kelvin sign
		{"s", "\u017f"}, // long s
		{"ǅ", "ǆ"},      // title case digraph
		{"Σίσυφος", "ΣΊΣΥΦΟΣ"},
		{"σ", "ς"}, // final sigma folds with sigma
	}
	for _, tt := range tests {
		if foldKey(tt.a) != foldKey(tt.b) {
			t.Errorf("foldKey(%q) = %q, foldKey(%q) = %q; want equal", tt.a, foldKey(tt.a), tt.b, foldKey(tt.b))
		}
		if !strings.EqualFold(tt.a, tt.b) {
			t.Errorf("test case %q, %q: strings.EqualFold disagrees", tt.a, tt.b)
		}
	}
	for _, pair := range [][2]string{{"ß", "ss"}, {"e\u0301", "é"}, {"a", "b"}, {"ı", "i"}} {
		if foldKey(pair[0]) == foldKey(pair[1]) {
			t.Errorf("foldKey(%q) == foldKey(%q), want different", pair[0], pair[1])
		}
	}
}

func FuzzFoldKey(f *testing.F) {
	for _, s := range []string{"Alice", "K\u212a", "straße", "\xff"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if (foldKey(a) == foldKey(b)) != strings.EqualFold(a, b) && utf8Valid(a, b) {
			t.Errorf("foldKey and EqualFold disagree on %q, %q", a, b)
		}
	})
}

func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if strings.ToValidUTF8(s, "\uFFFD") != s {
			return false
		}
	}
	return true
}

// TestApply is the lockout state machine as a table, apart from any
// store.
func TestApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := LockoutPolicy{Threshold: 3, Window: time.Minute, Duration: time.Hour}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	late := time.Date(9900, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		policy    LockoutPolicy
		st        LockoutState
		success   bool
		now       time.Time
		want      LockoutState
		lockedNow bool
	}{
		{"first failure", p, LockoutState{}, false, t0, LockoutState{1, t0, time.Time{}}, false},
		{"in window", p, LockoutState{1, t0, time.Time{}}, false, at(59 * time.Second), LockoutState{2, t0, time.Time{}}, false},
		{"window end restarts", p, LockoutState{2, t0, time.Time{}}, false, at(time.Minute), LockoutState{1, at(time.Minute), time.Time{}}, false},
		{"threshold", p, LockoutState{2, t0, time.Time{}}, false, at(time.Second), LockoutState{3, t0, at(time.Hour + time.Second)}, true},
		{"while locked", p, LockoutState{3, t0, at(time.Hour)}, false, at(time.Minute * 30), LockoutState{4, t0, at(time.Hour)}, false},
		{"success while locked", p, LockoutState{3, t0, at(time.Hour)}, true, at(time.Minute), LockoutState{3, t0, at(time.Hour)}, false},
		{"lock ends", p, LockoutState{9, t0, at(time.Hour)}, false, at(time.Hour), LockoutState{1, at(time.Hour), time.Time{}}, false},
		{"success clears", p, LockoutState{2, t0, time.Time{}}, true, at(time.Second), LockoutState{}, false},
		{"success after lock ended", p, LockoutState{3, t0, at(time.Hour)}, true, at(time.Hour), LockoutState{}, false},
		{"forever", LockoutPolicy{Threshold: 1}, LockoutState{}, false, t0, LockoutState{1, t0, LockedForever}, true},
		{"duration past year 9999", LockoutPolicy{Threshold: 1, Duration: 1 << 62}, LockoutState{}, false, late, LockoutState{1, late, LockedForever}, true},
		{"disabled counts", LockoutPolicy{}, LockoutState{7, t0, time.Time{}}, false, at(1000 * time.Hour), LockoutState{8, t0, time.Time{}}, false},
		{"clock went back", p, LockoutState{1, t0, time.Time{}}, false, at(-time.Hour), LockoutState{2, t0, time.Time{}}, false},
		{"counter saturates", p, LockoutState{maxFailures, t0, LockedForever}, false, t0, LockoutState{maxFailures, t0, LockedForever}, false},
		{"threshold lowered", LockoutPolicy{Threshold: 2, Window: time.Hour}, LockoutState{5, t0, time.Time{}}, false, t0, LockoutState{6, t0, LockedForever}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lockedNow := tt.policy.apply(tt.st, tt.success, tt.now)
			if !got.equal(tt.want) || lockedNow != tt.lockedNow {
				t.Errorf("apply(%+v, success=%t, %v) = %+v, %t; want %+v, %t", tt.st, tt.success, tt.now, got, lockedNow, tt.want, tt.lockedNow)
			}
		})
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- comment\nCREATE TABLE a (\n  x INTEGER -- c; d\n);\n\n-- only a comment;\nCREATE INDEX i ON a (x);\n-- trailing\n")
	want := []string{"-- comment\nCREATE TABLE a (\n  x INTEGER -- c; d\n)", "CREATE INDEX i ON a (x)"}
	if !slices.Equal(got, want) {
		t.Errorf("splitStatements = %q, want %q", got, want)
	}
}

// TestMigrationsAgree checks that both dialects define the same migrations
// with the same tables and columns.
func TestMigrationsAgree(t *testing.T) {
	sq, err := loadMigrations("migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(sq) != len(pg) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL", len(sq), len(pg))
	}
	for i := range sq {
		if sq[i].name != pg[i].name {
			t.Errorf("migration %d: %s vs %s", i+1, sq[i].name, pg[i].name)
		}
		if a, b := shape(sq[i].stmts), shape(pg[i].stmts); !slices.Equal(a, b) {
			t.Errorf("migration %s defines different tables:\nSQLite:     %q\nPostgreSQL: %q", sq[i].name, a, b)
		}
	}
	if _, err := fs.Stat(migrationFiles, "migrations/sqlite/0001_accounts.sql"); err != nil {
		t.Error(err)
	}
}

var (
	createTable = regexp.MustCompile(`(?m)^CREATE TABLE (\w+)`)
	column      = regexp.MustCompile(`(?m)^\s+([a-z_]+)\s+[A-Z]`)
)

// shape lists "table.column" of the CREATE TABLE statements.
func shape(stmts []string) []string {
	var out []string
	for _, s := range stmts {
		m := createTable.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		for _, c := range column.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1]+"."+c[1])
		}
	}
	return out
}
