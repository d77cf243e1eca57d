//go:build unix && !solaris && !aix

package incident

import (
	"os"
	"syscall"
)

// fileLocking says whether lockFile really locks; the tests of concurrent
// writers need it.
const fileLocking = true

// lockFile takes a flock on f, exclusive or shared, waiting for it. A flock
// belongs to the open file description, so two opens of the log in one
// process exclude each other just as two processes do.
func lockFile(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	return flock(f, how)
}

func unlockFile(f *os.File) error { return flock(f, syscall.LOCK_UN) }

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}
