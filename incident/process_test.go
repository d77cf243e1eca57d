package incident

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
)

// The tests below run the test binary again as a helper process that
// writes to a store, so that two processes contend for the log and a
// writer can be killed for real. The helper is chosen by these variables.
const (
	helperEnv  = "RCA_INCIDENT_HELPER" // writer, partial or looper
	helperDir  = "RCA_INCIDENT_HELPER_DIR"
	helperID   = "RCA_INCIDENT_HELPER_ID"
	helperN    = "RCA_INCIDENT_HELPER_N"
	helperName = "RCA_INCIDENT_HELPER_NAME"
)

// TestHelperProcess is not a test: it is the helper process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("the helper process of the multi-process tests")
	}
	s, id := Store{Dir: os.Getenv(helperDir)}, os.Getenv(helperID)
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	switch mode {
	case "writer":
		// Appends N entries "NAME i" once the parent says go on stdin,
		// so that both writers start together.
		n, _ := strconv.Atoi(os.Getenv(helperN))
		name := os.Getenv(helperName)
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fail(err)
		}
		for i := range n {
			e := Entry{Time: time.Now(), Kind: KindNote, Author: name, Text: fmt.Sprintf("%s %d", name, i)}
			if _, err := s.Append(ctx, id, e); err != nil {
				fail(err)
			}
		}
	case "partial":
		// Writes the first half of an entry as a crash mid-write leaves
		// it, says so, and waits to be killed.
		b, err := json.Marshal(Entry{Time: time.Now(), Kind: KindNote, Text: "cut off " + strings.Repeat("x", 100)})
		if err != nil {
			fail(err)
		}
		f, err := os.OpenFile(filepath.Join(s.Path(id), "log.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fail(err)
		}
		if _, err := f.Write(b[:len(b)/2]); err != nil {
			fail(err)
		}
		fmt.Println("written")
		time.Sleep(time.Hour)
	case "looper":
		// Appends "crash i" until killed, reporting each i once written.
		for i := 0; ; i++ {
			e := Entry{Time: time.Now(), Kind: KindNote, Text: "crash " + strconv.Itoa(i)}
			if _, err := s.Append(ctx, id, e); err != nil {
				fail(err)
			}
			fmt.Println(i)
		}
	default:
		fail(fmt.Errorf("unknown helper mode %q", mode))
	}
	os.Exit(0)
}

// helper is a command running TestHelperProcess in mode on s and id.
func helper(t *testing.T, ctx context.Context, s Store, id, mode string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDir+"="+s.Dir, helperID+"="+id)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

func requireLocking(t *testing.T) {
	if !fileLocking {
		t.Skip("no file locking on this system")
	}
}

// perWriter checks that each writer's entries "NAME i" are all there, once,
// in order.
func perWriter(t *testing.T, entries []Entry, names []string, n int) {
	t.Helper()
	next := map[string]int{}
	for _, e := range entries {
		name, num, ok := strings.Cut(e.Text, " ")
		i, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("unexpected entry %q", e.Text)
		}
		if i != next[name] {
			t.Fatalf("%s: entry %d follows %d (lost, repeated or reordered)", name, i, next[name]-1)
		}
		next[name]++
	}
	for _, name := range names {
		if next[name] != n {
			t.Errorf("%s: %d entries, want %d", name, next[name], n)
		}
	}
}

// switches counts how often consecutive entries come from different
// writers: 1 means the writers did not overlap at all.
func switches(entries []Entry) int {
	n := 0
	for i := 1; i < len(entries); i++ {
		if entries[i].Author != entries[i-1].Author {
			n++
		}
	}
	return n
}

func TestConcurrentWriterProcesses(t *testing.T) {
	requireLocking(t)
	n := 1000
	if testing.Short() {
		n = 200
	}
	s := newStore(t)
	id := startIncident(t, s, "two writers", st0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	names := []string{"A", "B"}
	var cmds []*exec.Cmd
	var stderrs []*bytes.Buffer
	var gos []io.WriteCloser
	for _, name := range names {
		cmd, stderr := helper(t, ctx, s, id, "writer", helperN+"="+strconv.Itoa(n), helperName+"="+name)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, stderrs, gos = append(cmds, cmd), append(stderrs, stderr), append(gos, in)
	}
	began := time.Now()
	for _, in := range gos {
		io.WriteString(in, "go\n")
		in.Close()
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer %s: %v\n%s", names[i], err, stderrs[i])
		}
	}
	t.Logf("2 processes × %d appends: %v", n, time.Since(began).Round(time.Millisecond))

	l := mustRead(t, s, id)
	if len(l.Problems) != 0 {
		t.Fatalf("problems: %+v", l.Problems)
	}
	if got := len(l.Entries) - 1; got != 2*n {
		t.Fatalf("%d entries, want %d", got, 2*n)
	}
	perWriter(t, l.Entries[1:], names, n)
	t.Logf("the writers took turns %d times", switches(l.Entries[1:]))
}

// A flock belongs to the open file, and every Append opens the log
// anew, so goroutines of one process exclude each other too.
func TestConcurrentWriterGoroutines(t *testing.T) {
	requireLocking(t)
	s := newStore(t)
	id := startIncident(t, s, "four writers", st0)
	const writers, n = 4, 250
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	offsets := make([][]int64, writers)
	names := make([]string, writers)
	for w := range writers {
		names[w] = "G" + strconv.Itoa(w)
		wg.Go(func() {
			for i := range n {
				off, err := s.Append(context.Background(), id, Entry{Time: time.Now(), Kind: KindNote, Author: names[w], Text: fmt.Sprintf("%s %d", names[w], i)})
				if err != nil {
					errs <- err
					return
				}
				offsets[w] = append(offsets[w], off)
			}
		})
	}
	// A reader meanwhile never sees a line half-written (the shared lock),
	// and a cursor that follows the log with ReadFrom misses nothing.
	stop := make(chan struct{})
	followed := make(chan int, 1)
	go func() {
		var off int64
		seen := 0
		for done := false; !done; {
			select {
			case <-stop:
				done = true // one last read after the writers finished
			default:
			}
			l, err := s.Read(context.Background(), id)
			if err != nil || len(l.Problems) != 0 {
				errs <- fmt.Errorf("read during the writes: %v, problems %+v", err, l.Problems)
				break
			}
			es, next, err := s.ReadFrom(context.Background(), id, off)
			if err != nil {
				errs <- err
				break
			}
			seen, off = seen+len(es), next
			time.Sleep(time.Millisecond)
		}
		followed <- seen
	}()
	wg.Wait()
	close(stop)
	if seen := <-followed; seen != 1+writers*n {
		t.Errorf("the following reader saw %d entries, want %d", seen, 1+writers*n)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	l := mustRead(t, s, id)
	if len(l.Problems) != 0 || len(l.Entries) != 1+writers*n {
		t.Fatalf("%d entries, problems %+v; want %d and none", len(l.Entries), l.Problems, 1+writers*n)
	}
	perWriter(t, l.Entries[1:], names, n)

	// Each offset is the end of a distinct line of the file.
	raw, err := os.ReadFile(filepath.Join(s.Path(id), "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for w := range writers {
		for _, off := range offsets[w] {
			if off <= 0 || off > int64(len(raw)) || raw[off-1] != '\n' || seen[off] {
				t.Fatalf("offset %d is not the end of a line of its own", off)
			}
			seen[off] = true
		}
	}
}

// Holding the lock elsewhere really stops Append; a shared lock stops
// Append but not Read, an exclusive one both.
func TestLockExcludes(t *testing.T) {
	requireLocking(t)
	s := newStore(t)
	id := startIncident(t, s, "locks", st0)
	ctx := context.Background()
	// lockLog opens the log and locks it as another process would.
	lockLog := func(exclusive bool) *os.File {
		t.Helper()
		f, err := os.Open(filepath.Join(s.Path(id), "log.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if err := lockFile(f, exclusive); err != nil {
			f.Close()
			t.Fatal(err)
		}
		return f
	}
	blocked := func(name string, exclusive bool, op func() error) {
		t.Helper()
		f := lockLog(exclusive)
		defer f.Close()
		done := make(chan error, 1)
		go func() { done <- op() }()
		select {
		case err := <-done:
			t.Fatalf("%s finished (%v) while the lock was held", name, err)
		case <-time.After(150 * time.Millisecond):
		}
		if err := unlockFile(f); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still blocked after the lock was released", name)
		}
	}
	appendNote := func() error { _, err := s.Append(ctx, id, noteAt(1, "x")); return err }
	read := func() error { _, err := s.Read(ctx, id); return err }
	render := func() error { return s.Render(ctx, id) }
	blocked("Append under a shared lock", false, appendNote)
	blocked("Append under an exclusive lock", true, appendNote)
	blocked("Read under an exclusive lock", true, read)
	blocked("Render under a shared lock", false, render)

	f := lockLog(false)
	defer f.Close()
	if err := read(); err != nil {
		t.Fatalf("Read under another shared lock: %v", err)
	}
}

// A writer killed mid-write leaves a torn last line: every entry before it
// reads back, the next Append isolates the fragment without touching it,
// and the new entry is whole.
func TestCrashMidWrite(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "crash", st0)
	for i := range 3 {
		mustAppend(t, s, id, noteAt(i, "before "+strconv.Itoa(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stderr := helper(t, ctx, s, id, "partial")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	said, err := bufio.NewReader(out).ReadString('\n')
	if said != "written\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q (%v)\n%s", said, err, stderr)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed helper exited cleanly")
	}

	path := filepath.Join(s.Path(id), "log.jsonl")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := mustRead(t, s, id)
	if len(l.Entries) != 4 || len(l.Problems) != 1 || !l.Problems[0].Torn || l.Problems[0].Line != 5 {
		t.Fatalf("after the crash: %d entries, problems %+v; want 4 and one torn at line 5", len(l.Entries), l.Problems)
	}
	entries, cursor, err := s.ReadFrom(context.Background(), id, 0)
	if err != nil || len(entries) != 4 || int(cursor) != bytes.LastIndexByte(old, '\n')+1 {
		t.Fatalf("ReadFrom(0) = %d entries, cursor %d, %v; want 4 and the end of the last whole line", len(entries), cursor, err)
	}

	end := mustAppend(t, s, id, noteAt(10, "after the crash"))
	now, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(now, old) {
		t.Fatal("Append changed bytes written before it")
	}
	if now[len(old)] != '\n' || end != int64(len(now)) {
		t.Fatalf("the fragment was not closed with a newline, or the offset %d is not the end %d", end, len(now))
	}
	l = mustRead(t, s, id)
	want := []string{"crash", "before 0", "before 1", "before 2", "after the crash"}
	if strings.Join(entryTexts(l.Entries), "|") != strings.Join(want, "|") {
		t.Errorf("entries = %q, want %q", entryTexts(l.Entries), want)
	}
	if len(l.Problems) != 1 || l.Problems[0].Torn || l.Problems[0].Line != 5 {
		t.Errorf("problems = %+v, want one, not torn, at line 5", l.Problems)
	}
	entries, next, err := s.ReadFrom(context.Background(), id, cursor)
	if err != nil || len(entries) != 1 || entries[0].Text != "after the crash" || next != end {
		t.Errorf("ReadFrom(cursor) = %q, %d, %v; want the new entry and %d", entryTexts(entries), next, err, end)
	}
	if err := s.Render(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(s.Path(id), "log.md"))
	if !bytes.Contains(md, []byte("## Problems reading the log\n\n- Line 5: ")) {
		t.Errorf("log.md does not report the fragment:\n%s", md)
	}
}

// A writer killed at a random moment loses nothing it reported written.
func TestCrashKilledWriter(t *testing.T) {
	for round := range 3 {
		s := newStore(t)
		id := startIncident(t, s, "killed", st0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd, stderr := helper(t, ctx, s, id, "looper")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		if !sc.Scan() {
			cmd.Wait()
			t.Fatalf("the helper wrote nothing\n%s", stderr)
		}
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		reported := 1
		for sc.Scan() {
			reported++
		}
		if err := cmd.Wait(); err == nil {
			t.Fatalf("the killed helper exited cleanly\n%s", stderr)
		}
		cancel()

		l := mustRead(t, s, id)
		got := l.Entries[1:]
		for i, e := range got {
			if e.Text != "crash "+strconv.Itoa(i) {
				t.Fatalf("entry %d = %q", i, e.Text)
			}
		}
		// The entry being written when the kill came may be there too.
		if len(got) < reported || len(got) > reported+1 {
			t.Errorf("round %d: %d entries, the helper reported %d written", round, len(got), reported)
		}
		for _, p := range l.Problems {
			if !p.Torn {
				t.Errorf("round %d: problem %+v", round, p)
			}
		}
		t.Logf("round %d: killed after %d reported, %d entries, %d problems", round, reported, len(got), len(l.Problems))
	}
}
