package inventory

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// process names the OS process a run lives in. On the same host another
// process can then tell a dead holder of a lock (its scopes are free at
// once) from a live one whose heartbeat is only late (a long SQLite write
// held the database; its locks are never taken). Host is the host name,
// the kernel's boot id and the pid namespace: two containers, or two
// machines with one name, never take each other's pids for their own.
type process struct {
	Host  string `json:"-" db:"host"`
	PID   int    `json:"-" db:"pid"`
	Start int64  `json:"-" db:"pid_start"` // start time in clock ticks since boot; 0: unknown
}

// thisProcess is the calling process.
func thisProcess() process {
	host, _ := os.Hostname()
	pid := os.Getpid()
	start, _ := procStart(pid)
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return process{Host: host + "/" + strings.TrimSpace(string(boot)) + "/" + ns, PID: pid, Start: start}
}

// String is how runs name their process: "host pid N".
func (p process) String() string {
	host, _, _ := strings.Cut(p.Host, "/")
	return host + " pid " + strconv.Itoa(p.PID)
}

// alive tells whether p is running, as seen from self; known is false
// when that cannot be told (another host, or no /proc).
func (p process) alive(self process) (alive, known bool) {
	if p.Host == "" || p.Host != self.Host || p.PID <= 0 || self.Start == 0 {
		return false, false
	}
	start, err := procStart(p.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return false, true
	}
	if err != nil {
		return false, false
	}
	// The same pid with another start time is another process.
	return p.Start == 0 || start == p.Start, true
}

// procStart reads a process's start time (field 22 of /proc/PID/stat).
func procStart(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("short /proc stat")
	}
	// A zombie is dead: it holds nothing any more.
	if f[0] == "Z" || f[0] == "X" {
		return 0, fs.ErrNotExist
	}
	return strconv.ParseInt(f[19], 10, 64)
}
