package sqlstore

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

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
