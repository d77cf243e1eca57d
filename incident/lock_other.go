//go:build !unix || solaris || aix

package incident

import "os"

// fileLocking is false where the standard library has no flock: writers
// there rely on O_APPEND alone, which keeps single writes whole on local
// file systems but does not isolate a torn tail race-free.
const fileLocking = false

func lockFile(*os.File, bool) error { return nil }

func unlockFile(*os.File) error { return nil }
