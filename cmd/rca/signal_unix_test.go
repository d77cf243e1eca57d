//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalsEndABlockedRead (#17, defect 12): rca blocked where no context
// reaches (opening a named pipe nobody writes) still ends on Ctrl-C: the
// first signal cancels, a second one ends the process.
func TestSignalsEndABlockedRead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "rca.yaml")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skip("no named pipes here:", err)
			}
			cmd := exec.Command(os.Args[0], "--config", fifo, "analyze")
			cmd.Env = append(os.Environ(), runMainEnv+"=1")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			time.Sleep(300 * time.Millisecond) // let it reach the open
			deadline := time.After(10 * time.Second)
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case err := <-done:
					if err == nil {
						t.Fatal("rca exited 0 on a signal")
					}
					return
				case <-tick.C:
					cmd.Process.Signal(sig)
				case <-deadline:
					cmd.Process.Kill()
					<-done
					t.Fatalf("rca ignored repeated %v while blocked opening a named pipe", sig)
				}
			}
		})
	}
}
