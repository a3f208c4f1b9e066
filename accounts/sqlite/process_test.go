package sqlite

// Tests with several processes on one SQLite file: a helper process (this
// test binary run again, the os/exec test pattern) is killed with SIGKILL
// mid-write, or several record failures at once.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensspi/sspi/accounts"
	"github.com/opensspi/sspi/accounts/internal/sqlstore"
)

const (
	helperEnv = "SSPI_ACCOUNTS_HELPER" // which helper this process is
	helperDB  = "SSPI_ACCOUNTS_DB"     // the SQLite file
	helperArg = "SSPI_ACCOUNTS_ARG"    // a number for the helper
)

// The crash helper's fixed clock and policy: failures never expire and
// the count goes on past the lock (counted while locked), so the count
// can only grow.
var (
	crashNow    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	crashPolicy = accounts.LockoutPolicy{Threshold: 50}
)

// victimVerifier is the verifier of the accounts the helpers attack;
// wrongPassword never matches it.
var victimVerifier = map[string][]byte{"NTLM": []byte("victim")}

// wrongPassword is a logon attempt with a wrong password, at crashNow.
func wrongPassword(domain, name string) accounts.LogonAttempt {
	return accounts.LogonAttempt{Domain: domain, Name: name, Package: "NTLM", Now: crashNow,
		Check: func([]byte) bool { return false }}
}

// TestHelperProcess is not a test: it is the body of the helper
// processes, and returns at once in a normal run.
func TestHelperProcess(t *testing.T) {
	which := os.Getenv(helperEnv)
	if which == "" {
		return
	}
	report := os.NewFile(3, "report")
	var err error
	switch which {
	case "crash":
		err = crashHelper(report)
	case "race":
		err = raceHelper(report)
	default:
		err = fmt.Errorf("unknown helper %q", which)
	}
	if err != nil {
		fmt.Fprintf(report, "E %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// crashHelper writes until it is killed: it creates account N, N+1, … and
// records a failure for "victim" after each, writing "B …" to the report
// pipe before each write and "C …" once it has committed; "O" before it
// opens the store and "R" once it has. The parent kills it when these
// lines say it has got as far as the parent chose.
func crashHelper(report *os.File) error {
	start, err := strconv.Atoi(os.Getenv(helperArg))
	if err != nil {
		return err
	}
	say := func(format string, args ...any) {
		// One write(2) of a short line: atomic on a pipe.
		if _, err := fmt.Fprintf(report, format+"\n", args...); err != nil {
			os.Exit(2)
		}
	}
	ctx := context.Background()
	say("O")
	// Checkpoint often, so that kills also land in checkpoints.
	testAutoCheckpoint = 4
	s, err := accounts.Open(ctx, "sqlite:"+os.Getenv(helperDB), &accounts.Options{Lockout: &crashPolicy})
	if err != nil {
		return err
	}
	say("R")
	for i := start; ; i++ {
		say("B C %d", i)
		err := s.Create(ctx, &accounts.Account{
			Domain:    "crash",
			Name:      fmt.Sprintf("user%07d", i),
			Groups:    []string{"g1", fmt.Sprint("g", i)},
			Verifiers: map[string][]byte{"NTLM": crashVerifier(i), "OTHER": []byte("x")},
		})
		if err != nil {
			return err
		}
		say("C C %d", i)
		say("B F")
		out, err := s.Logon(ctx, wrongPassword("crash", "victim"))
		if err != nil {
			return err
		}
		say("C F %d", out.Account.Lockout.Failures)
		if i%3 == 0 && i > start {
			// Other writes, not checked beyond integrity.
			if err := s.SetGroups(ctx, "crash", fmt.Sprintf("user%07d", i-1), []string{"changed"}); err != nil {
				return err
			}
		}
		// Delete old accounts, so that the file (and the parent's
		// checks) stay small however long the soak. An earlier helper
		// may not have committed the account: accounts.ErrNotFound is fine.
		if old := i - crashKeep; old >= 0 {
			say("B D %d", old)
			err := s.Delete(ctx, "crash", fmt.Sprintf("user%07d", old))
			if err != nil && !errors.Is(err, accounts.ErrNotFound) {
				return err
			}
			say("C D %d", old)
		}
	}
}

// crashKeep is how many of the newest accounts the crash helper keeps.
const crashKeep = 40

func crashVerifier(i int) []byte {
	return []byte(fmt.Sprintf("verifier-%d-%s", i, strings.Repeat("v", i%200)))
}

// crashLog is what the parent learned from one helper's report.
type crashLog struct {
	opening   bool // the helper is opening the store
	ready     bool
	steps     int          // B and C lines: writes begun and committed
	began     map[int]bool // creates begun (committed or not)
	committed map[int]bool // creates committed
	delBegan  map[int]bool // deletes begun
	deleted   map[int]bool // deletes committed
	fails     int          // failures begun
	lastFail  int          // count reported by the last committed failure
	helperErr string
}

func newCrashLog() *crashLog {
	return &crashLog{began: map[int]bool{}, committed: map[int]bool{}, delBegan: map[int]bool{}, deleted: map[int]bool{}}
}

// add takes in one line of the report.
func (l *crashLog) add(line string) error {
	f := strings.Fields(line)
	if len(f) > 0 && (f[0] == "B" || f[0] == "C") {
		l.steps++
	}
	switch {
	case len(f) == 1 && f[0] == "O":
		l.opening = true
	case len(f) == 1 && f[0] == "R":
		l.ready = true
	case len(f) >= 1 && f[0] == "E":
		l.helperErr = line
	case len(f) == 3 && (f[1] == "C" || f[1] == "D"):
		i, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		switch f[0] + f[1] {
		case "BC":
			l.began[i] = true
		case "CC":
			l.committed[i] = true
		case "BD":
			l.delBegan[i] = true
		case "CD":
			l.deleted[i] = true
		}
	case len(f) == 2 && f[0] == "B" && f[1] == "F":
		l.fails++
	case len(f) == 3 && f[0] == "C" && f[1] == "F":
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		l.lastFail = n
	case len(f) == 0:
		// A kill can cut nothing mid-line (one write per line),
		// but be lenient with empty lines.
	default:
		return fmt.Errorf("bad report line %q", line)
	}
	return nil
}

// runCrashHelper runs one crash helper and SIGKILLs it when its report
// says it has got as far as killAt wants: the kill follows the helper's
// progress, however fast or slow the machine runs it. It returns the
// whole report.
func runCrashHelper(t *testing.T, db string, next int, killAt func(*crashLog) bool) (*crashLog, error) {
	cmd := helperCmd(t, "crash", db, strconv.Itoa(next))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	reached := make(chan struct{})
	type result struct {
		l   *crashLog
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer r.Close()
		l := newCrashLog()
		killed := false
		kill := func() {
			if !killed {
				killed = true
				close(reached)
			}
		}
		// The helper ended on its own (it failed), or the report broke.
		defer kill()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if err := l.add(sc.Text()); err != nil {
				done <- result{nil, err}
				return
			}
			if killAt(l) {
				kill()
			}
		}
		done <- result{l, sc.Err()}
	}()
	<-reached
	cmd.Process.Kill()
	cmd.Wait()
	res := <-done
	return res.l, res.err
}

func helperCmd(t *testing.T, which, db, arg string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+which, helperDB+"="+db, helperArg+"="+arg)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestSQLiteCrash kills a writing helper with SIGKILL at random points
// of its progress (while it opens the store, or just after it reported
// beginning or committing its Nth write) and checks after each kill that
// the store opens cleanly, passes PRAGMA integrity_check, lost no
// committed account and that the failure counter never went down (the
// durability and lockout-counter items of the attack catalogue).
// Each kill costs a process start (about 0.1 s under the race detector):
// SSPI_SOAK=1 runs 2000 kills instead of 50.
func TestSQLiteCrash(t *testing.T) {
	iterations := 50
	if os.Getenv("SSPI_SOAK") != "" {
		iterations = 2000
	} else if testing.Short() {
		iterations = 20
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "sam.db")
	ctx := t.Context()
	s, err := accounts.Open(ctx, "sqlite:"+db, &accounts.Options{Lockout: &crashPolicy, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, &accounts.Account{Domain: "crash", Name: "victim", Verifiers: victimVerifier}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var (
		next        = 0              // first account of the next helper
		committed   = map[int]bool{} // accounts whose creation committed
		began       = map[int]bool{}
		delBegan    = map[int]bool{} // accounts whose deletion began
		deleted     = map[int]bool{} // accounts whose deletion committed
		attempts    = 0              // failures begun, over all helpers
		lastCount   = 0              // the counter as read after the previous kill
		killedEarly = 0
		wrote       = 0
	)
	start := time.Now()
	for iter := range iterations {
		// Mostly kill while it writes: just after it reported beginning
		// or committing one of its first writes (the kill lands in the
		// write it goes on with); sometimes while it opens the store.
		killAt := func(l *crashLog) bool { return l.opening }
		if rng.IntN(10) != 0 {
			steps := 1 + rng.IntN(24)
			killAt = func(l *crashLog) bool { return l.ready && l.steps >= steps }
		}
		l, err := runCrashHelper(t, db, next, killAt)
		if err != nil {
			t.Fatalf("iteration %d: reading the helper's report: %v", iter, err)
		}
		if l.helperErr != "" {
			t.Fatalf("iteration %d: helper failed: %s", iter, l.helperErr)
		}
		if !l.ready {
			killedEarly++
		}
		for i := range l.began {
			began[i] = true
			next = max(next, i+1)
		}
		for i := range l.committed {
			committed[i] = true
		}
		for i := range l.delBegan {
			delBegan[i] = true
		}
		for i := range l.deleted {
			deleted[i] = true
		}
		wrote += len(l.committed)
		attempts += l.fails

		count := checkCrashedStore(t, iter, db, crashState{began, committed, delBegan, deleted})
		if count < lastCount {
			t.Fatalf("iteration %d: failure count went down from %d to %d", iter, lastCount, count)
		}
		if count < l.lastFail {
			t.Fatalf("iteration %d: failure count %d is below the committed %d", iter, count, l.lastFail)
		}
		if count > attempts {
			t.Fatalf("iteration %d: failure count %d exceeds the %d failures recorded", iter, count, attempts)
		}
		lastCount = count
		if (iter+1)%500 == 0 {
			t.Logf("%d kills in %v", iter+1, time.Since(start).Round(time.Millisecond))
		}
	}
	t.Logf("%d kills in %v (%d before the store opened); %d accounts and %d failures committed",
		iterations, time.Since(start).Round(time.Millisecond), killedEarly, wrote, lastCount)
	if wrote == 0 || lastCount == 0 {
		t.Errorf("the helpers committed nothing: the test tested nothing")
	}
}

// crashState is what the parent knows must, may and must not be in the
// store: accounts by number.
type crashState struct {
	began, committed  map[int]bool // creates begun, committed
	delBegan, deleted map[int]bool // deletes begun, committed
}

// checkCrashedStore opens the store after a kill and checks it. It returns
// the victim's failure count.
func checkCrashedStore(t *testing.T, iter int, db string, st crashState) int {
	t.Helper()
	ctx := t.Context()
	s, err := accounts.Open(ctx, "sqlite:"+db, &accounts.Options{Lockout: &crashPolicy})
	if err != nil {
		t.Fatalf("iteration %d: Open after kill: %v", iter, err)
	}
	defer s.Close()
	raw := s.(*sqlstore.Store).R
	var res string
	if err := raw.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("iteration %d: integrity_check = %q, %v", iter, res, err)
	}
	if rows, err := raw.QueryContext(ctx, `PRAGMA foreign_key_check`); err != nil {
		t.Fatal(err)
	} else {
		if rows.Next() {
			t.Fatalf("iteration %d: foreign_key_check reports a dangling row", iter)
		}
		rows.Close()
	}
	var orphans int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts a LEFT JOIN lockout l ON l.account_id = a.id WHERE l.account_id IS NULL`).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("iteration %d: %d accounts without lockout state, %v", iter, orphans, err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatalf("iteration %d: List: %v", iter, err)
	}
	present := map[int]bool{}
	for _, a := range list {
		if a.Name == "victim" {
			continue
		}
		i, err := strconv.Atoi(strings.TrimPrefix(a.Name, "user"))
		if err != nil || !st.began[i] {
			t.Fatalf("iteration %d: account %q was never written", iter, a.Name)
		}
		if st.deleted[i] {
			t.Fatalf("iteration %d: deleted account user%07d is back", iter, i)
		}
		present[i] = true
		// Every account present is whole, committed or not.
		a, err := s.Lookup(ctx, "crash", a.Name)
		if err != nil {
			t.Fatalf("iteration %d: Lookup(user%07d): %v", iter, i, err)
		}
		if string(a.Verifiers["NTLM"]) != string(crashVerifier(i)) || len(a.Verifiers) != 2 || len(a.Groups) == 0 {
			t.Fatalf("iteration %d: user%07d is torn: %v", iter, i, a)
		}
	}
	for i := range st.committed {
		if !present[i] && !st.delBegan[i] {
			t.Fatalf("iteration %d: committed account user%07d is lost", iter, i)
		}
	}
	v, err := s.Lookup(ctx, "crash", "victim")
	if err != nil {
		t.Fatalf("iteration %d: victim: %v", iter, err)
	}
	return v.Lockout.Failures
}

// raceHelper waits for a line on stdin, then records failures for
// "victim" and reports each outcome as "O count lockedNow".
func raceHelper(report *os.File) error {
	n, err := strconv.Atoi(os.Getenv(helperArg))
	if err != nil {
		return err
	}
	ctx := context.Background()
	s, err := accounts.Open(ctx, "sqlite:"+os.Getenv(helperDB), &accounts.Options{Lockout: &raceProcPolicy})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(report, "R")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	for range n {
		out, err := s.Logon(ctx, wrongPassword("race", "victim"))
		if err != nil {
			return err
		}
		fmt.Fprintf(report, "O %d %t\n", out.Account.Lockout.Failures, out.LockedNow)
	}
	return nil
}

var raceProcPolicy = accounts.LockoutPolicy{Threshold: 40, Window: time.Hour, Duration: time.Hour}

// TestSQLiteProcessRace has several processes record failures on one
// account at once: each failure must see its own count (1…N exactly once
// over all processes) and exactly one must lock the account. This is what
// BEGIN IMMEDIATE buys; a deferred read-modify-write loses updates.
func TestSQLiteProcessRace(t *testing.T) {
	const procs, each = 4, 15
	db := filepath.Join(t.TempDir(), "sam.db")
	s, err := accounts.Open(t.Context(), "sqlite:"+db, &accounts.Options{Lockout: &raceProcPolicy, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(t.Context(), &accounts.Account{Domain: "race", Name: "victim", Verifiers: victimVerifier}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		lines []string
		err   error
	}
	var (
		wg      sync.WaitGroup
		results = make([]result, procs)
		stdins  []io.WriteCloser
		readies = make(chan struct{}, procs)
	)
	for p := range procs {
		cmd := helperCmd(t, "race", db, strconv.Itoa(each))
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.ExtraFiles = []*os.File{w}
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		stdins = append(stdins, in)
		wg.Go(func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				if sc.Text() == "R" {
					readies <- struct{}{}
					continue
				}
				results[p].lines = append(results[p].lines, sc.Text())
			}
			r.Close()
			results[p].err = cmd.Wait()
		})
	}
	for range procs {
		select {
		case <-readies:
		case <-time.After(time.Minute):
			t.Fatal("helpers did not start")
		}
	}
	for _, in := range stdins {
		io.WriteString(in, "go\n")
		in.Close()
	}
	wg.Wait()
	seen := map[int]bool{}
	var lockedNow int
	for p, r := range results {
		if r.err != nil {
			t.Fatalf("helper %d: %v (%q)", p, r.err, r.lines)
		}
		for _, line := range r.lines {
			var n int
			var locked bool
			if _, err := fmt.Sscanf(line, "O %d %t", &n, &locked); err != nil {
				t.Fatalf("helper %d: %q: %v", p, line, err)
			}
			if seen[n] {
				t.Errorf("count %d seen twice: an update was lost", n)
			}
			seen[n] = true
			if locked {
				lockedNow++
			}
		}
	}
	for n := 1; n <= procs*each; n++ {
		if !seen[n] {
			t.Errorf("no failure saw count %d", n)
		}
	}
	if lockedNow != 1 {
		t.Errorf("%d failures locked the account, want exactly 1", lockedNow)
	}
	a, err := s.Lookup(t.Context(), "race", "victim")
	if err != nil {
		t.Fatal(err)
	}
	if a.Lockout.Failures != procs*each {
		t.Errorf("stored count %d after %d failures", a.Lockout.Failures, procs*each)
	}
}
