package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// replayFile keeps the replay cache in a file, so that it outlives the
// LSA: after a crash or a restart a replayed authenticator is still
// refused, as RFC 4120 3.2.3 requires of a server. An LSA opens it alone
// (lsad) and holds an exclusive lock on it (flock) as long as it runs, or
// shares it with other LSAs (embedded LSAs of one user, as MIT's
// acceptors share their file replay cache): every operation then holds
// the exclusive lock, as well as the process's own.
//
// The file is a header followed by hash tables of fixed-size records, in
// the manner of MIT's rcache2: table i holds replayBaseSlots<<i records;
// a key may sit in one two-record bucket of each table, found from its
// first eight bytes. A store reads the key's bucket in every table
// (refusing a live copy), then writes the record into the first free or
// expired slot, appending a table, twice as large as the last, when
// every bucket is full, up to a bound. Nothing is ever rewritten in
// place but one record at a time, and a record never straddles a page,
// so a crash loses at most the record being written (whose
// authentication had not succeeded yet).
//
// Every record carries a CRC-32C. A record that fails it (damage to the
// file) means the cache lost track of a key that could hash there: the
// LSA then refuses every key of that bucket until the amnesia interval
// has passed (long enough for whatever was lost to have expired), by
// writing a poison record in its place.
//
//	header (64 bytes): magic "OSSPI-RC", version 1 (uint32), base slots
//	                   (uint32), zero padding
//	record (64 bytes): key (32 bytes, already a SHA-256), expiry (int64
//	                   Unix nanoseconds), CRC-32C of the 40 bytes before
//	                   it (uint32), zero padding. All zero: free. The
//	                   key of all 0xFF bytes: a poisoned bucket.
type replayFile struct {
	f       *os.File
	path    string
	tables  int // complete tables in the file
	max     int // bound on tables
	amnesia time.Duration
	shared  bool // others may use the file: lock it for every operation
	// mirror is the whole file, kept by an LSA that opened it alone
	// (nothing else writes it) while it is at most replayMirrorMax long:
	// a store then reads its buckets here, not one read(2) per table, and
	// only writes to the file.
	mirror   []byte
	buf      [2 * replayRecord]byte
	rec      [replayRecord]byte
	lockFile func(f *os.File) error
	unlock   func(f *os.File) error
}

const (
	replayMagic     = "OSSPI-RC"
	replayVersion   = 1
	replayHeader    = 64
	replayRecord    = 64
	replayBaseSlots = 4096
	// replayMaxTables bounds the file: 4096·(2^10−1) records, 256 MiB.
	replayMaxTables = 10
)

// replayMirrorMax bounds the file an LSA keeps a copy of in memory: seven
// tables, 33 MB, about half a million authenticators (a variable for
// tests).
var replayMirrorMax = tableOffset(7)

var (
	crc32c     = crc32.MakeTable(crc32.Castagnoli)
	poisonKey  = [32]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	errReplayF = errors.New("lsa: replay cache file")
)

// openReplayFile opens or creates the replay cache file at path, alone
// (the lock held until close; another LSA holding the file is an error)
// or shared. A file that is not one (another magic, version or size) is
// an error: the LSA refuses to start rather than run with an empty cache.
func openReplayFile(path string, amnesia time.Duration, shared bool) (*replayFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lsa: replay cache: %w", err)
	}
	r := &replayFile{f: f, path: path, max: replayMaxTables, amnesia: amnesia, shared: shared, lockFile: lockFile, unlock: unlockFile}
	if err := tryLockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lsa: replay cache %s is in use by another LSA (LSAs that share one must all be configured to): %w", path, err)
	}
	if shared {
		defer r.unlock(f)
	} else {
		// Held until close: nothing else will change the file.
		r.lockFile = func(*os.File) error { return nil }
		r.unlock = func(*os.File) error { return nil }
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lsa: replay cache: %w", err)
	}
	if fi.Size() == 0 {
		var h [replayHeader]byte
		copy(h[:], replayMagic)
		binary.BigEndian.PutUint32(h[8:], replayVersion)
		binary.BigEndian.PutUint32(h[12:], replayBaseSlots)
		if _, err := f.WriteAt(h[:], 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lsa: replay cache: %w", err)
		}
		if !shared {
			r.mirror = h[:]
		}
		return r, nil
	}
	var h [replayHeader]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lsa: replay cache %s: unreadable header: %w", path, err)
	}
	if string(h[:8]) != replayMagic || binary.BigEndian.Uint32(h[8:]) != replayVersion || binary.BigEndian.Uint32(h[12:]) != replayBaseSlots {
		f.Close()
		return nil, fmt.Errorf("lsa: %s is not a replay cache of this version: move it away to start with an empty one, once the clock skew has passed since the LSA last ran (RFC 4120 3.2.3)", path)
	}
	n, ok := tablesOfSize(fi.Size())
	if !ok {
		f.Close()
		return nil, fmt.Errorf("lsa: replay cache %s has a damaged size (%d bytes)", path, fi.Size())
	}
	r.tables = n
	if !shared && fi.Size() <= replayMirrorMax {
		r.mirror = make([]byte, fi.Size())
		if _, err := f.ReadAt(r.mirror, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lsa: replay cache %s: %w", path, err)
		}
	}
	return r, nil
}

// tablesOfSize returns how many tables a file of size holds, if size is
// a whole number of them.
func tablesOfSize(size int64) (int, bool) {
	off := int64(replayHeader)
	for n := 0; n <= replayMaxTables; n++ {
		if off == size {
			return n, true
		}
		off += int64(replayBaseSlots<<n) * replayRecord
	}
	return 0, false
}

// tableOffset is where table i starts.
func tableOffset(i int) int64 {
	return int64(replayHeader) + int64(replayBaseSlots*((1<<i)-1))*replayRecord
}

func (r *replayFile) lock() error {
	if err := r.lockFile(r.f); err != nil {
		return fmt.Errorf("lsa: replay cache %s: locking: %w", r.path, err)
	}
	return nil
}

// store records key until expires, or refuses it: ErrReplay for a live
// copy, an error for a poisoned bucket, a full file or a failed write.
// The caller holds the process's lock.
func (r *replayFile) store(key [32]byte, expires, now time.Time) error {
	if err := r.lock(); err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "%w", err)
	}
	defer r.unlock(r.f)
	if r.shared {
		// Another LSA may have grown the file.
		if fi, err := r.f.Stat(); err == nil {
			if n, ok := tablesOfSize(fi.Size()); ok {
				r.tables = n
			}
		}
	}
	h := binary.BigEndian.Uint64(key[:8])
	freeAt := int64(-1)
	var damaged []int64
	poisoned := time.Time{}
	for i := 0; i < r.tables; i++ {
		slots := uint64(replayBaseSlots << i)
		off := tableOffset(i) + int64((h%(slots/2))*2)*replayRecord
		if err := r.readAt(r.buf[:], off); err != nil {
			return secpkg.Errorf(secpkg.StatusInternalError, "%w %s: %w", errReplayF, r.path, err)
		}
		for j := 0; j < 2; j++ {
			rec := r.buf[j*replayRecord : (j+1)*replayRecord]
			at := off + int64(j*replayRecord)
			if isZero(rec) {
				if freeAt < 0 {
					freeAt = at
				}
				continue
			}
			if crc32.Checksum(rec[:40], crc32c) != binary.BigEndian.Uint32(rec[40:44]) {
				damaged = append(damaged, at)
				continue
			}
			exp := time.Unix(0, int64(binary.BigEndian.Uint64(rec[32:40])))
			live := now.Before(exp)
			switch {
			case bytes.Equal(rec[:32], poisonKey[:]) && live:
				poisoned = exp
			case bytes.Equal(rec[:32], key[:]) && live:
				return secpkg.ErrReplay
			case !live && freeAt < 0:
				freeAt = at
			}
		}
	}
	if len(damaged) > 0 {
		until := now.Add(r.amnesia)
		for _, at := range damaged {
			if err := r.write(at, poisonKey, until); err != nil {
				return err
			}
		}
		poisoned = until
	}
	if !poisoned.IsZero() {
		return secpkg.Errorf(secpkg.StatusInternalError, "lsa: the replay cache lost a record (damage to %s); refusing the authenticators that could be replays until %v", r.path, poisoned.UTC().Format(time.RFC3339))
	}
	if freeAt < 0 {
		if r.tables >= r.max {
			return secpkg.Errorf(secpkg.StatusInsufficientMemory, "lsa: replay cache %s is full", r.path)
		}
		size := tableOffset(r.tables + 1)
		if err := r.f.Truncate(size); err != nil {
			return secpkg.Errorf(secpkg.StatusInternalError, "%w %s: growing: %w", errReplayF, r.path, err)
		}
		if r.mirror != nil {
			if size <= replayMirrorMax {
				r.mirror = append(r.mirror, make([]byte, size-int64(len(r.mirror)))...)
			} else {
				r.mirror = nil // too large to keep: read the file
			}
		}
		slots := uint64(replayBaseSlots << r.tables)
		freeAt = tableOffset(r.tables) + int64((h%(slots/2))*2)*replayRecord
		r.tables++
	}
	return r.write(freeAt, key, expires)
}

// write writes one record.
func (r *replayFile) write(at int64, key [32]byte, expires time.Time) error {
	clear(r.rec[:])
	copy(r.rec[:32], key[:])
	binary.BigEndian.PutUint64(r.rec[32:40], uint64(expires.UnixNano()))
	binary.BigEndian.PutUint32(r.rec[40:44], crc32.Checksum(r.rec[:40], crc32c))
	if _, err := r.f.WriteAt(r.rec[:], at); err != nil {
		return secpkg.Errorf(secpkg.StatusInternalError, "%w %s: %w", errReplayF, r.path, err)
	}
	if r.mirror != nil {
		copy(r.mirror[at:], r.rec[:])
	}
	return nil
}

// readAt reads len(b) bytes of the file at off: from the mirror if there
// is one.
func (r *replayFile) readAt(b []byte, off int64) error {
	if r.mirror != nil {
		copy(b, r.mirror[off:off+int64(len(b))])
		return nil
	}
	_, err := r.f.ReadAt(b, off)
	return err
}

func (r *replayFile) close() error { return r.f.Close() }

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
